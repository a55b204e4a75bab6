package aiops

// DefaultBaseURL is CloudAlert's public API host, used when an account sets
// no base_url.
const DefaultBaseURL = "https://caweb.aiops.com"
