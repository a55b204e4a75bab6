package simulator

import (
	"bytes"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"sync"
	"time"

	"go.yaml.in/yaml/v3"
)

// The demo's credentials. They open nothing but the simulators, so the
// demo config carries them inline.
const (
	demoAIOpsEmail       = "demo@example.com"
	demoAIOpsToken       = "demo-aiops-token"
	demoTingyunAuthkey   = "demo-tingyun-authkey"
	demoGuoyangyunKey    = "8771711500303120001"
	demoGuoyangyunSecret = "demo-guoyangyun-appsecret"
	demoVZICloudKeyID    = "7ffG6UFo1135QXbK2gVuiJffadN1YXZC"
	demoVZICloudSecret   = "demo-vzicloud-access-key-secret"
)

// Demo is every simulator, each serving demo data on its own loopback port,
// and the exporter config that reads them.
type Demo struct {
	aiops      *AIOps
	vzicloud   *VZICloud
	tingyun    *Tingyun
	guoyangyun *Guoyangyun
	servers    []*demoServer
	config     []byte
}

// StartDemo starts every simulator with demo data as of now (see
// DemoAIOpsLicenses, DemoVZICloudGrants, DemoTingyunUsers and
// DemoGuoyangyunAccounts), one account each. If wrap is not nil, each
// simulator is served as the handler wrap returns for it and its vendor's
// name: tests and benchmarks put a fault injector there. Close stops them.
func StartDemo(now time.Time, wrap func(vendor string, sim Vendor) http.Handler) (*Demo, error) {
	d := &Demo{
		aiops:      NewAIOps(demoAIOpsEmail, demoAIOpsToken),
		vzicloud:   NewVZICloud(demoVZICloudKeyID, demoVZICloudSecret),
		tingyun:    NewTingyun(demoTingyunAuthkey),
		guoyangyun: NewGuoyangyun(demoGuoyangyunKey, demoGuoyangyunSecret),
	}
	d.aiops.SetLicenses(DemoAIOpsLicenses(now))
	d.vzicloud.SetGrants(DemoVZICloudGrants(now))
	d.tingyun.SetUsers(DemoTingyunUsers(now))
	d.guoyangyun.SetAccounts(DemoGuoyangyunAccounts())

	cfg := demoConfig{Defaults: demoDefaults{CacheTTL: "1m", Timeout: "5s"}}
	for _, a := range []struct {
		name, vendor string
		sim          Vendor
		block        map[string]any
	}{
		{"demo-aiops", "aiops", d.aiops, map[string]any{"email": demoAIOpsEmail, "token": demoAIOpsToken}},
		// Pages of 500: the demo's 3,000 grants take six signed requests.
		{"demo-vzicloud", "vzicloud", d.vzicloud, map[string]any{"access_key_id": demoVZICloudKeyID, "access_key_secret": demoVZICloudSecret, "page_size": 500}},
		{"demo-tingyun", "tingyun", d.tingyun, map[string]any{"authkey": demoTingyunAuthkey}},
		{"demo-guoyangyun", "guoyangyun", d.guoyangyun, map[string]any{"appkey": demoGuoyangyunKey, "appsecret": demoGuoyangyunSecret}},
	} {
		var h http.Handler = a.sim
		if wrap != nil {
			h = wrap(a.vendor, a.sim)
		}
		url, err := d.serve(h)
		if err != nil {
			return nil, errors.Join(err, d.Close())
		}
		cfg.Accounts = append(cfg.Accounts, demoAccount{Name: a.name, BaseURL: url, Vendor: map[string]map[string]any{a.vendor: a.block}})
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := errors.Join(enc.Encode(cfg), enc.Close()); err != nil {
		return nil, errors.Join(err, d.Close())
	}
	d.config = buf.Bytes()
	return d, nil
}

// ConfigYAML is an exporter config (README, "Configuration") with one
// account per simulator, pointing at it with its demo credentials.
func (d *Demo) ConfigYAML() []byte { return bytes.Clone(d.config) }

// VZICloud is the demo's vzicloud simulator, whose grants bench/perf sets.
func (d *Demo) VZICloud() *VZICloud { return d.vzicloud }

// Close stops every simulator: in-flight requests are cut (their contexts
// are canceled, so faults that wait give up), and it returns once every
// server goroutine has finished. It may be called more than once.
func (d *Demo) Close() error {
	var errs []error
	for _, s := range d.servers {
		errs = append(errs, s.close())
	}
	return errors.Join(errs...)
}

// The demo config, in the schema of config.Config; only what the demo sets.
type demoConfig struct {
	Defaults demoDefaults  `yaml:"defaults"`
	Accounts []demoAccount `yaml:"accounts"`
}

type demoDefaults struct {
	CacheTTL string `yaml:"cache_ttl"`
	Timeout  string `yaml:"timeout"`
}

type demoAccount struct {
	Name    string                    `yaml:"name"`
	BaseURL string                    `yaml:"base_url"`
	Vendor  map[string]map[string]any `yaml:",inline"` // the one vendor block
}

// demoServer is one simulator's HTTP server.
type demoServer struct {
	srv     *http.Server
	serving sync.WaitGroup // the Serve goroutine
	conns   sync.WaitGroup // connections not yet closed
	err     error          // from Serve, other than ErrServerClosed
}

// serve starts h on a random loopback port and returns its base URL.
func (d *Demo) serve(h http.Handler) (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	s := &demoServer{}
	s.srv = &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		// Longer than any sensible latency or drip fault.
		WriteTimeout: 2 * time.Minute,
		IdleTimeout:  time.Minute,
		// Its messages are about connections cut by faults or by Close:
		// noise in the exporter's log.
		ErrorLog:  log.New(io.Discard, "", 0),
		ConnState: s.track,
	}
	d.servers = append(d.servers, s)
	s.serving.Go(func() {
		if err := s.srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			s.err = err
		}
	})
	return "http://" + ln.Addr().String(), nil
}

// track counts open connections. net/http reports StateNew from the Serve
// goroutine before Serve can return, and exactly one terminal state per
// connection at the end of its goroutine.
func (s *demoServer) track(_ net.Conn, state http.ConnState) {
	switch state {
	case http.StateNew:
		s.conns.Add(1)
	case http.StateClosed, http.StateHijacked:
		s.conns.Done()
	}
}

// close closes the listener and every connection, then waits for Serve to
// return (no new connection after that) and for every connection's
// goroutine to finish.
func (s *demoServer) close() error {
	err := s.srv.Close()
	s.serving.Wait()
	s.conns.Wait()
	return errors.Join(err, s.err)
}
