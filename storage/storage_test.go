package storage

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/go-kit/log"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func entry(key string) Entry {
	return Entry{Key: key, Identity: "id", Schema: "s1", Time: time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC), Payload: []byte("snapshot of " + key)}
}

func TestSaveAndLoad(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "answers")
	s := New(dir, log.NewNopLogger(), nil)
	_, err := s.Load("acct")
	require.ErrorIs(t, err, fs.ErrNotExist)

	require.NoError(t, s.Save(entry("acct/../with odd name")))
	got, err := s.Load("acct/../with odd name")
	require.NoError(t, err)
	assert.Equal(t, entry("acct/../with odd name"), got)

	info, err := os.Stat(dir)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o700), info.Mode().Perm())
	files, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, files, 1, "no temporary file is left behind")
	info, err = files[0].Info()
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), info.Mode().Perm())
	for _, op := range []string{opLoad, opSave, opRemove} {
		assert.Zero(t, testutil.ToFloat64(s.errors.WithLabelValues(op)), "%s: a missing file is no error", op)
	}
}

// Every damaged or foreign file is refused with a reason, and counted.
func TestLoadRefusesBadFiles(t *testing.T) {
	dir := t.TempDir()
	s := New(dir, log.NewNopLogger(), nil)
	require.NoError(t, s.Save(entry("acct")))
	path := filepath.Join(dir, fileName("acct"))
	good, err := os.ReadFile(path)
	require.NoError(t, err)
	require.NoError(t, s.Save(entry("other")))
	other, err := os.ReadFile(filepath.Join(dir, fileName("other")))
	require.NoError(t, err)

	flipped := append([]byte(nil), good...)
	flipped[len(flipped)-3] ^= 1
	newer := append([]byte(nil), good...)
	newer[len(magic)+1] = formatVersion + 1
	for name, tc := range map[string]struct {
		data []byte
		want string
	}{
		"flipped byte":    {flipped, "checksum mismatch"},
		"truncated":       {good[:len(good)-5], "truncated"},
		"header only":     {good[:headerLen-1], "not a stored answer"},
		"empty":           {nil, "not a stored answer"},
		"foreign":         {[]byte(`{"licenses": []}`), "not a stored answer"},
		"newer format":    {newer, "format version 2"},
		"another account": {other, "another account"},
	} {
		t.Run(name, func(t *testing.T) {
			require.NoError(t, os.WriteFile(path, tc.data, 0o600))
			before := testutil.ToFloat64(s.errors.WithLabelValues(opLoad))
			_, err := s.Load("acct")
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			assert.False(t, errors.Is(err, fs.ErrNotExist))
			assert.Equal(t, before+1, testutil.ToFloat64(s.errors.WithLabelValues(opLoad)))
		})
	}
}

// A path that cannot be a directory makes every save fail and count, never panic.
func TestUnwritableDirectory(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	require.NoError(t, os.WriteFile(file, nil, 0o600))
	s := New(file, log.NewNopLogger(), nil)
	require.Error(t, s.Save(entry("acct")))
	require.Error(t, s.Save(entry("acct")))
	assert.Equal(t, 2.0, testutil.ToFloat64(s.errors.WithLabelValues(opSave)))
	_, err := s.Load("acct")
	require.Error(t, err)
}

func TestPruneKeepsConfiguredAccountsAndOtherFiles(t *testing.T) {
	dir := t.TempDir()
	s := New(dir, log.NewNopLogger(), nil)
	for _, k := range []string{"a", "b", "c"} {
		require.NoError(t, s.Save(entry(k)))
	}
	oldTemp := filepath.Join(dir, fileName("a")+".tmp123")
	freshTemp := filepath.Join(dir, fileName("b")+".tmp456")
	unrelated := filepath.Join(dir, "notes.txt")
	for _, p := range []string{oldTemp, freshTemp, unrelated} {
		require.NoError(t, os.WriteFile(p, []byte("x"), 0o600))
	}
	past := time.Now().Add(-time.Hour)
	require.NoError(t, os.Chtimes(oldTemp, past, past))

	s.Prune([]string{"a", "c"})
	for _, p := range []string{fileName("a"), fileName("c"), freshTemp, unrelated} {
		assert.FileExists(t, filepath.Join(dir, filepath.Base(p)))
	}
	assert.NoFileExists(t, filepath.Join(dir, fileName("b")))
	assert.NoFileExists(t, oldTemp, "a crash's leftover")
}
