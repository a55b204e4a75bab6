package collector

import (
	"net/http"
	"reflect"
	"slices"
	"sync"

	promcfg "github.com/prometheus/common/config"
)

// sharedClient is one HTTP client, and so one transport and connection
// pool, for every account with the same http_client_config: a client per
// account kept a transport, and an idle connection with its goroutines and
// buffers, per account.
type sharedClient struct {
	cfg  promcfg.HTTPClientConfig
	http *http.Client

	mu        sync.Mutex
	refreshes int // in flight on this client
}

// clientFor returns the client of clients whose config is cfg, else a new
// one, added to clients. The configs are compared in full, secrets included:
// accounts share connections only when they would open the same ones.
func clientFor(clients *[]*sharedClient, cfg promcfg.HTTPClientConfig) (*sharedClient, error) {
	i := slices.IndexFunc(*clients, func(c *sharedClient) bool { return reflect.DeepEqual(c.cfg, cfg) })
	if i >= 0 {
		return (*clients)[i], nil
	}
	h, err := promcfg.NewClientFromConfig(cfg, namespace)
	if err != nil {
		return nil, err
	}
	c := &sharedClient{cfg: cfg, http: h}
	*clients = append(*clients, c)
	return c, nil
}

// clientsOf lists the distinct clients of accounts.
func clientsOf(accounts []*account) []*sharedClient {
	var clients []*sharedClient
	for _, a := range accounts {
		if a.client != nil && !slices.Contains(clients, a.client) {
			clients = append(clients, a.client)
		}
	}
	return clients
}

// begin counts a refresh in flight on the client.
func (c *sharedClient) begin() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.refreshes++
}

// end ends a refresh; after the last one in flight, the idle connections
// close. Refreshes are minutes apart, when a kept-alive connection would
// only hold memory and goroutines (or have been closed by the vendor); the
// pages of one refresh, and refreshes that overlap, still reuse connections.
// A connection that turns idle just after the close is closed too:
// net/http closes new idle connections until the next request.
func (c *sharedClient) end() {
	c.mu.Lock()
	c.refreshes--
	last := c.refreshes == 0
	c.mu.Unlock()
	if last {
		c.http.CloseIdleConnections()
	}
}
