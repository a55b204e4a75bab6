package server

import (
	"bytes"
	"context"
	"flag"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var updateScreenshot = flag.Bool("update-screenshot", false,
	"write the README's screenshots of the status page (docs/status-page*.png) from TestStatusPageBrowser")

// screenshots are the README's pictures of the status page: a desktop
// window and a phone.
var screenshots = []struct {
	file          string
	width, height int
}{
	{"status-page.png", 1500, 1350},
	{"status-page-phone.png", 400, 1400},
}

// TestStatusPageBrowser renders the status page in headless Chromium, checks
// what the browser built (rows, states, links), and takes the screenshots:
// into a temporary directory, or into docs/ with -update-screenshot.
func TestStatusPageBrowser(t *testing.T) {
	chromium := requireChromium(t)
	f := newStatesFixture(t)
	f.bringToEveryState(t)
	f.assertEveryState(t, runChromium(t, chromium, "--dump-dom", f.http.URL+"/"))

	// Without -update-screenshot one screenshot shows the helper works;
	// each costs seconds of Chromium.
	dir, shots := t.TempDir(), screenshots[:1]
	if *updateScreenshot {
		dir, shots = filepath.Join("..", "docs"), screenshots
	}
	for _, s := range shots {
		path, err := filepath.Abs(filepath.Join(dir, s.file))
		require.NoError(t, err)
		runChromium(t, chromium, "--hide-scrollbars", "--screenshot="+path,
			"--window-size="+strconv.Itoa(s.width)+","+strconv.Itoa(s.height), f.http.URL+"/")
		file, err := os.Open(path)
		require.NoError(t, err)
		img, err := png.Decode(file)
		_ = file.Close()
		require.NoError(t, err, "a PNG")
		assert.Equal(t, s.width, img.Bounds().Dx())
		assert.Equal(t, s.height, img.Bounds().Dy())
	}
}

// requireChromium finds Debian's chromium: skipped locally without it, a
// failure in CI (CI=true), like the other outside programs.
func requireChromium(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("chromium is required in CI: %v", err)
		}
		t.Skip("chromium not installed")
	}
	return path
}

// runChromium runs headless Chromium with a profile of its own and nothing
// that reaches the network but the page, and returns its standard output.
func runChromium(t *testing.T, chromium string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, chromium, append([]string{
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir=" + t.TempDir(),
	}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(t, err, "chromium: %s", stderr.String())
	return string(out)
}
