package logging

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	"github.com/go-kit/log/level"
	"github.com/stretchr/testify/require"
)

func TestLevelFilter(t *testing.T) {
	var buf bytes.Buffer
	l, _, err := New(&buf, "warn", "logfmt")
	require.NoError(t, err)
	require.NoError(t, level.Info(l).Log("msg", "dropped"))
	require.NoError(t, level.Warn(l).Log("msg", "kept"))
	out := buf.String()
	require.NotContains(t, out, "dropped")
	require.Contains(t, out, `level=warn`)
	require.Contains(t, out, `msg=kept`)
	require.Contains(t, out, `caller=logging_test.go:`)
}

func TestBadFlags(t *testing.T) {
	_, _, err := New(&bytes.Buffer{}, "verbose", "logfmt")
	require.ErrorContains(t, err, `unknown log level "verbose"`)
	_, _, err = New(&bytes.Buffer{}, "info", "xml")
	require.ErrorContains(t, err, `unknown log format "xml"`)
}

func TestSlogBridge(t *testing.T) {
	var buf bytes.Buffer
	_, s, err := New(&buf, "info", "json")
	require.NoError(t, err)

	require.False(t, s.Enabled(t.Context(), slog.LevelDebug))
	s.Debug("not shown")
	s.With("server", "web").WithGroup("tls").Error("handshake failed", "addr", "127.0.0.1:9", slog.Group("cert", "cn", "x"))

	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	require.Len(t, lines, 1)
	var rec map[string]any
	require.NoError(t, json.Unmarshal([]byte(lines[0]), &rec))
	require.Equal(t, "error", rec["level"])
	require.Equal(t, "handshake failed", rec["msg"])
	require.Equal(t, "web", rec["server"])
	require.Equal(t, "127.0.0.1:9", rec["tls.addr"])
	require.Equal(t, "x", rec["tls.cert.cn"])
}
