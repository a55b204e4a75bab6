package main

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"debug/elf"
	"encoding/json"
	"encoding/pem"
	"flag"
	"fmt"
	"html"
	"io"
	"maps"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"

	"github.com/quotaexporter/quota_exporter/internal/syncbuf"
	"github.com/quotaexporter/quota_exporter/simulator"
)

var update = flag.Bool("update", false, "rewrite the golden files of the end-to-end tests")

// These tests run the real binary, as a user would.

var (
	buildOnce sync.Once
	binary    string
	buildErr  error
)

// removeBinary deletes what buildBinary built, once every test is done.
func removeBinary() {
	if binary != "" {
		_ = os.RemoveAll(filepath.Dir(binary))
	}
}

func buildBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "quota_exporter-e2e")
		if err != nil {
			buildErr = err
			return
		}
		binary = filepath.Join(dir, "quota_exporter")
		out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %w\n%s", err, out)
		}
	})
	require.NoError(t, buildErr)
	return binary
}

// requireTool finds an outside program. Locally a test without it is
// skipped; in CI (CI=true) its absence is a failure, so a broken CI image
// cannot pass silently.
func requireTool(t *testing.T, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is required in CI: %v", name, err)
		}
		t.Skipf("%s not installed", name)
	}
	return path
}

// exporterProcess is a running quota_exporter.
type exporterProcess struct {
	cmd  *exec.Cmd
	url  string
	logs *syncbuf.Buffer
}

func startExporter(t *testing.T, args ...string) *exporterProcess {
	t.Helper()
	return startExporterWith(t, "http", http.DefaultClient, func(*http.Request) {}, args...)
}

// startExporterWith starts the exporter and waits for readiness, asking
// over scheme with client and requests that auth prepares (for
// --web.config.file).
func startExporterWith(t *testing.T, scheme string, client *http.Client, auth func(*http.Request), args ...string) *exporterProcess {
	t.Helper()
	bin := buildBinary(t)
	addr := freeAddress(t)
	p := &exporterProcess{url: scheme + "://" + addr, logs: &syncbuf.Buffer{}}
	p.cmd = exec.Command(bin, append([]string{"--web.listen-address=" + addr}, args...)...)
	p.cmd.Stdout, p.cmd.Stderr = p.logs, p.logs
	require.NoError(t, p.cmd.Start())
	exited := make(chan error, 1)
	go func() { exited <- p.cmd.Wait() }()
	t.Cleanup(func() {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-exited:
			assert.NoError(t, err, "the exporter exits cleanly on SIGTERM")
		case <-time.After(10 * time.Second):
			_ = p.cmd.Process.Kill()
			t.Error("the exporter did not stop on SIGTERM")
		}
	})
	require.Eventually(t, func() bool {
		req, err := http.NewRequest(http.MethodGet, p.url+"/-/ready", nil)
		require.NoError(t, err)
		auth(req)
		resp, err := client.Do(req)
		if err != nil {
			return false
		}
		_ = resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, 20*time.Second, 50*time.Millisecond, "the exporter did not become ready: %s", p.logs)
	return p
}

func freeAddress(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	return addr
}

func get(url string) (int, string) {
	resp, err := http.Get(url) //nolint:gosec // a test's own loopback URL
	if err != nil {
		return 0, err.Error()
	}
	defer func() { _ = resp.Body.Close() }()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// volatileSeries are the series whose values depend on the time of the run
// or on the machine; the golden file keeps their names and labels only.
var volatileSeries = regexp.MustCompile(`^(\w*(_timestamp_seconds|_days_until_\w+|_duration_seconds\w*|_data_age_seconds|_wait_seconds_total))(\{.*\})? \S+$`)

// normalize keeps the exporter's own and the vendor series, with volatile
// values and build labels replaced, in a stable form for a golden file.
func normalize(exposition string) string {
	var out []string
	for line := range strings.Lines(exposition) {
		line = strings.TrimSuffix(line, "\n")
		name := strings.TrimPrefix(strings.TrimPrefix(line, "# HELP "), "# TYPE ")
		if strings.HasPrefix(name, "go_") || strings.HasPrefix(name, "process_") || strings.HasPrefix(name, "promhttp_") {
			continue
		}
		if strings.HasPrefix(line, "quota_exporter_build_info{") {
			line = "quota_exporter_build_info{<build labels>} 1"
		}
		line = volatileSeries.ReplaceAllString(line, "$1$3 <volatile>")
		out = append(out, line)
	}
	return strings.Join(out, "\n") + "\n"
}

// promtoolNotes is everything `promtool check metrics` may say about the
// demo's output: its base-unit note on the two countdowns in days, which
// users asked for beside the _timestamp_seconds metrics (the README's
// metrics section says why). Any other finding fails the test.
const promtoolNotes = `aiops_license_days_until_expiry use base unit "seconds" instead of "days"
vzicloud_grant_days_until_next_expiry use base unit "seconds" instead of "days"
`

func TestDemoEndToEnd(t *testing.T) {
	p := startExporter(t, "--demo")

	code, metrics := get(p.url + "/metrics")
	require.Equal(t, http.StatusOK, code)

	golden := filepath.Join("testdata", "demo.golden")
	got := normalize(metrics)
	if *update {
		require.NoError(t, os.WriteFile(golden, []byte(got), 0o644))
	}
	want, err := os.ReadFile(golden)
	require.NoError(t, err)
	assert.Equal(t, string(want), got, "run `go test -run TestDemoEndToEnd -update .` after an intended change")

	code, body := get(p.url + "/probe?account=demo-aiops")
	assert.Equal(t, http.StatusOK, code)
	assert.Contains(t, body, `quota_exporter_scrape_success{account="demo-aiops",vendor="aiops"} 1`)
	code, _ = get(p.url + "/probe?account=nobody")
	assert.Equal(t, http.StatusBadRequest, code)
	code, body = get(p.url + "/")
	assert.Equal(t, http.StatusOK, code)
	assert.Contains(t, body, `href="/probe?account=demo-aiops&amp;debug=true"`)
	links := regexp.MustCompile(`href="([^"]+)"`).FindAllStringSubmatch(body, -1)
	assert.Len(t, links, 4+2*4, "metrics, sd, health, readiness; probe and debug per account")
	for _, l := range links {
		link := html.UnescapeString(l[1])
		code, _ := get(p.url + link)
		assert.Equal(t, http.StatusOK, code, "the status page's link %s", link)
	}

	t.Run("promtool check metrics", func(t *testing.T) {
		promtool := requireTool(t, "promtool")
		cmd := exec.Command(promtool, "check", "metrics")
		cmd.Stdin = strings.NewReader(metrics)
		out, err := cmd.CombinedOutput()
		assert.Equal(t, promtoolNotes, string(out))
		var exit *exec.ExitError
		require.ErrorAs(t, err, &exit, "promtool exits 3 on lint findings")
		assert.Equal(t, 3, exit.ExitCode())
	})
}

func TestVersionFlag(t *testing.T) {
	out, err := exec.Command(buildBinary(t), "--version").CombinedOutput()
	require.NoError(t, err)
	assert.Regexp(t, `^quota_exporter, version .* \(branch: .*, revision: .*\)\n\s+build user:.*\n\s+build date:.*\n\s+go version:\s+go1\.`, string(out))
}

func TestHelpListsAllowedValues(t *testing.T) {
	out, err := exec.Command(buildBinary(t), "--help").CombinedOutput()
	require.NoError(t, err, "%s", out)
	help := strings.Join(strings.Fields(string(out)), " ") // kingpin wraps the text
	assert.Contains(t, help, "--log.level=info Only log messages with the given severity or above. One of: [debug, info, warn, error]")
	assert.Contains(t, help, "--log.format=logfmt Output format of log messages. One of: [logfmt, json]")
	assert.Contains(t, help, "--[no-]web.enable-lifecycle")
}

// POST /-/reload reloads only with --web.enable-lifecycle, as in Prometheus.
func TestReloadEndpointNeedsTheLifecycleFlag(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want int
	}{
		{[]string{"--demo"}, http.StatusForbidden},
		{[]string{"--demo", "--web.enable-lifecycle"}, http.StatusOK},
	} {
		p := startExporter(t, tc.args...)
		resp, err := http.Post(p.url+"/-/reload", "", nil)
		require.NoError(t, err)
		require.NoError(t, resp.Body.Close())
		assert.Equal(t, tc.want, resp.StatusCode, "%v", tc.args)
	}
}

// A real config file with a simulated vendor: SIGHUP reloads it, a bad
// file is refused and the old config stays in force.
func TestReloadOnSIGHUP(t *testing.T) {
	const token = "canary-token-e2e-8d1f"
	sim := simulator.NewAIOps("ops@example.com", token)
	sim.SetLicenses(simulator.DemoAIOpsLicenses(time.Now()))
	vendor := httptest.NewServer(sim)
	t.Cleanup(vendor.Close)

	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "token"), []byte(token+"\n"), 0o600))
	path := filepath.Join(dir, "exporter.yml")
	writeAccount := func(name, extra string) {
		yaml := fmt.Sprintf("accounts:\n  - name: %s\n    base_url: %s\n%s    aiops: {email: ops@example.com, token_file: token}\n", name, vendor.URL, extra)
		require.NoError(t, os.WriteFile(path, []byte(yaml), 0o600))
	}
	writeAccount("first", "")
	p := startExporter(t, "--config.file="+path)

	_, body := get(p.url + "/metrics")
	assert.Contains(t, body, `quota_exporter_scrape_success{account="first",vendor="aiops"} 1`)

	writeAccount("second", "")
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGHUP))
	require.Eventually(t, func() bool {
		_, body := get(p.url + "/metrics")
		return strings.Contains(body, `account="second"`) && !strings.Contains(body, `account="first"`)
	}, 10*time.Second, 50*time.Millisecond)

	writeAccount("third", "    timeout: never\n")
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGHUP))
	require.Eventually(t, func() bool {
		_, body := get(p.url + "/metrics")
		return strings.Contains(body, "quota_exporter_config_last_reload_successful 0")
	}, 10*time.Second, 50*time.Millisecond)
	_, body = get(p.url + "/metrics")
	assert.Contains(t, body, `quota_exporter_scrape_success{account="second",vendor="aiops"} 1`, "the old config stays")
	assert.NotContains(t, body, `account="third"`)
	assert.Contains(t, p.logs.String(), `timeout (line 4)`)

	for _, out := range []string{body, p.logs.String()} {
		assert.NotContains(t, out, token)
		assert.False(t, bytes.Contains([]byte(out), []byte("13911826457")), "a member's telephone leaked")
	}
}

// readmeMetricRow is a row of a metric table in README.md:
// | `name` | type | `label`, `label` | value |
var readmeMetricRow = regexp.MustCompile("(?m)^\\| `([a-z_]+)` \\| (gauge|counter|histogram) \\|([^|]*)\\|")

// TestREADMEListsEveryMetric compares the README's metric tables with what
// the demo serves: the same metrics, types and labels, none missing on
// either side.
func TestREADMEListsEveryMetric(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	require.NoError(t, err)
	documented := map[string]string{}
	for _, m := range readmeMetricRow.FindAllStringSubmatch(string(readme), -1) {
		labels := strings.Fields(strings.NewReplacer("`", "", ",", " ").Replace(m[3]))
		slices.Sort(labels)
		documented[m[1]] = m[2] + " " + strings.Join(labels, ",")
	}

	// With --storage.path, whose metric is documented too.
	p := startExporter(t, "--demo", "--storage.path="+t.TempDir())
	_, metrics := get(p.url + "/metrics")
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(metrics))
	require.NoError(t, err)
	served := map[string]string{}
	for name, mf := range families {
		if strings.HasPrefix(name, "go_") || strings.HasPrefix(name, "process_") || strings.HasPrefix(name, "promhttp_") {
			continue
		}
		labels := map[string]bool{}
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				labels[lp.GetName()] = true
			}
		}
		served[name] = strings.ToLower(mf.GetType().String()) + " " + strings.Join(slices.Sorted(maps.Keys(labels)), ",")
	}
	assert.Equal(t, documented, served)
}

// --web.config.file is exporter-toolkit's: TLS with a real handshake, and
// basic auth on every endpoint.
func TestWebConfigTLSAndBasicAuth(t *testing.T) {
	dir := t.TempDir()
	certPEM := writeSelfSignedCert(t, dir)
	hash, err := bcrypt.GenerateFromPassword([]byte("s3cret-pass"), bcrypt.MinCost)
	require.NoError(t, err)
	webConfig := filepath.Join(dir, "web.yml")
	require.NoError(t, os.WriteFile(webConfig, fmt.Appendf(nil,
		"tls_server_config:\n  cert_file: cert.pem\n  key_file: key.pem\nbasic_auth_users:\n  prom: %s\n", hash), 0o600))

	roots := x509.NewCertPool()
	require.True(t, roots.AppendCertsFromPEM(certPEM))
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}}}
	withPassword := func(password string) func(*http.Request) {
		return func(req *http.Request) { req.SetBasicAuth("prom", password) }
	}
	p := startExporterWith(t, "https", client, withPassword("s3cret-pass"), "--demo", "--web.config.file="+webConfig, "--log.format=json")

	status := func(c *http.Client, auth func(*http.Request)) int {
		req, err := http.NewRequest(http.MethodGet, p.url+"/metrics", nil)
		require.NoError(t, err)
		auth(req)
		resp, err := c.Do(req)
		if err != nil {
			return 0
		}
		require.NoError(t, resp.Body.Close())
		return resp.StatusCode
	}
	assert.Equal(t, http.StatusOK, status(client, withPassword("s3cret-pass")))
	assert.Equal(t, http.StatusUnauthorized, status(client, withPassword("wrong")))
	assert.Equal(t, http.StatusUnauthorized, status(client, func(*http.Request) {}))
	assert.Equal(t, 0, status(http.DefaultClient, withPassword("s3cret-pass")), "an untrusted certificate fails the handshake")
	code, _ := get(strings.Replace(p.url, "https://", "http://", 1) + "/metrics")
	assert.Equal(t, http.StatusBadRequest, code, "plain HTTP is not served")

	// The refused handshake is logged by the HTTP server itself, through
	// the configured logger and format like every other line.
	require.Eventually(t, func() bool { return strings.Contains(p.logs.String(), "TLS handshake error") },
		5*time.Second, 50*time.Millisecond, "%s", p.logs)
	for line := range strings.Lines(p.logs.String()) {
		var record map[string]any
		assert.NoError(t, json.Unmarshal([]byte(line), &record), "not a JSON log line: %s", line)
	}
}

// writeSelfSignedCert writes cert.pem and key.pem for 127.0.0.1 into dir and
// returns the certificate.
func writeSelfSignedCert(t *testing.T, dir string) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "quota_exporter test"},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	keyDER, err := x509.MarshalECPrivateKey(key)
	require.NoError(t, err)
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	require.NoError(t, os.WriteFile(filepath.Join(dir, "cert.pem"), certPEM, 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "key.pem"), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600))
	return certPEM
}

// The Dockerfile builds with `make build`; Docker does not run here, so this
// builds the same way and checks what the image relies on: a static binary
// (it runs on distroless/static) that carries its version and starts.
func TestReleaseBuildIsStatic(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	requireTool(t, "make")
	bin := filepath.Join(t.TempDir(), "quota_exporter")
	cmd := exec.Command("make", "build", "OUT="+bin, "VERSION=9.8.7-test")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)

	f, err := elf.Open(bin)
	require.NoError(t, err)
	defer func() { _ = f.Close() }()
	assert.Nil(t, f.Section(".interp"), "no dynamic loader")
	libs, err := f.ImportedLibraries()
	require.NoError(t, err)
	assert.Empty(t, libs, "no shared libraries")

	out, err = exec.Command(bin, "--version").CombinedOutput()
	require.NoError(t, err, "%s", out)
	assert.Contains(t, string(out), "version 9.8.7-test")
}

// A client that sends its request slowly (or never finishes it) neither
// blocks other scrapes nor holds its connection for ever.
func TestSlowClientIsCutOff(t *testing.T) {
	p := startExporter(t, "--demo")
	conn, err := net.Dial("tcp", strings.TrimPrefix(p.url, "http://"))
	require.NoError(t, err)
	defer func() { _ = conn.Close() }()
	_, err = io.WriteString(conn, "GET /metrics HTTP/1.1\r\nHost: x\r\n") // headers never end
	require.NoError(t, err)

	code, _ := get(p.url + "/metrics")
	assert.Equal(t, http.StatusOK, code, "other scrapes are served meanwhile")

	require.NoError(t, conn.SetReadDeadline(time.Now().Add(30*time.Second)))
	start := time.Now()
	_, err = io.ReadAll(conn) // returns once the server closes the connection
	require.NoError(t, err, "the server closed the connection before our deadline")
	assert.Less(t, time.Since(start), 20*time.Second)
}
