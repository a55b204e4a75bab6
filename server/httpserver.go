package server

import (
	stdlog "log"
	"net/http"
	"time"
)

// Time limits on clients, so that slow or stuck ones cannot pile up
// connections and memory: a client must send its whole request (headers
// and body) within requestReadTimeout, its headers alone within
// headerReadTimeout, and an idle keep-alive connection closes after
// idleTimeout. No write timeout: a scrape may legitimately wait up to its
// own deadline.
const (
	headerReadTimeout  = 10 * time.Second
	requestReadTimeout = 30 * time.Second
	idleTimeout        = 2 * time.Minute
)

// NewHTTPServer is the exporter's http.Server for handler, with the client
// time limits above; the server's own errors (TLS handshakes, accepts) go
// to errorLog.
func NewHTTPServer(handler http.Handler, errorLog *stdlog.Logger) *http.Server {
	return &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: headerReadTimeout,
		ReadTimeout:       requestReadTimeout,
		IdleTimeout:       idleTimeout,
		ErrorLog:          errorLog,
	}
}
