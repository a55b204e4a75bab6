package guoyangyun

// DefaultBaseURL is Guoyang Cloud's public API host, used when an account
// sets no base_url.
const DefaultBaseURL = "https://api.guoyangyun.com"
