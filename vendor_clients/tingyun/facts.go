package tingyun

// DefaultBaseURL is Tingyun's public API host, used when an account sets no
// base_url.
const DefaultBaseURL = "https://network.tingyun.com"
