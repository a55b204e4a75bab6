package secret

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestSecretSourceRead(t *testing.T) {
	for _, tc := range []struct {
		content, want string
	}{
		{"s3cret", "s3cret"},
		{"s3cret\n", "s3cret"},
		{"s3cret\r\n", "s3cret"},
		{"s3cret\n\n", "s3cret"},
		{"s3 cret \n", "s3 cret "}, // only newlines are trimmed
		{"line1\nline2\n", "line1\nline2"},
	} {
		path := filepath.Join(t.TempDir(), "secret")
		require.NoError(t, os.WriteFile(path, []byte(tc.content), 0o600))
		got, err := Source{File: path}.Read()
		require.NoError(t, err)
		require.Equal(t, tc.want, got, "%q", tc.content)
	}

	got, err := Source{Value: "inline"}.Read()
	require.NoError(t, err)
	require.Equal(t, "inline", got)
}

func writeSecret(t *testing.T, content string, mode os.FileMode) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "secret")
	require.NoError(t, os.WriteFile(path, []byte(content), mode))
	require.NoError(t, os.Chmod(path, mode)) // whatever the umask
	return path
}

func TestSecretFileRules(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "fifo")
	require.NoError(t, syscall.Mkfifo(fifo, 0o600))
	big := writeSecret(t, strings.Repeat("x", MaxFileSize+1), 0o600)
	for _, tc := range []struct {
		name, path, want string
	}{
		// Neither blocks: a FIFO without a writer, an endless device.
		{"fifo", fifo, "token_file: " + fifo + " is not a regular file (p---------)"},
		{"device", "/dev/zero", "token_file: /dev/zero is not a regular file (Dc---------)"},
		{"directory", filepath.Dir(fifo), "token_file: " + filepath.Dir(fifo) + " is not a regular file (d---------)"},
		{"too large", big, "token_file: " + big + " is larger than 64 KiB"},
		{"missing", "/nonexistent/CANARY-SECRET-123", "token_file: cannot be opened: no such file or directory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Source{Key: "token", File: tc.path}.Read()
			require.EqualError(t, err, tc.want)
		})
	}

	// The largest secret file allowed reads whole.
	largest := writeSecret(t, strings.Repeat("x", MaxFileSize), 0o600)
	got, err := Source{File: largest}.Read()
	require.NoError(t, err)
	require.Len(t, got, MaxFileSize)
}

// A world-readable secret file is read, and reported once per file.
func TestWorldReadableSecretFileIsWarnedOnce(t *testing.T) {
	open, private := writeSecret(t, "s3cret\n", 0o644), writeSecret(t, "s3cret\n", 0o640)
	var warned []string
	warn := func(file string) { warned = append(warned, file) }
	for range 3 {
		for _, path := range []string{open, private} {
			got, err := Source{File: path, Warn: warn}.Read()
			require.NoError(t, err)
			require.Equal(t, "s3cret", got)
		}
	}
	require.Equal(t, []string{open}, warned)
}
