// Package storage keeps each account's last good answer in a directory, one
// file per account, so that a restart neither empties the cache nor calls
// every vendor at once. A file is written atomically (temporary file, fsync,
// rename, fsync of the directory) with mode 0600, and read back only when
// its magic, format version, length and CRC-32C all match: anything else is
// an error for the caller to log, never a crash.
//
// The store knows nothing of vendors: an Entry's payload is opaque bytes
// with the Schema that says how they were encoded.
package storage

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/gob"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/prometheus/client_golang/prometheus"
)

// Entry is one account's stored answer.
type Entry struct {
	Key      string    // the account's name; a file holding another is foreign
	Identity string    // digest of what the answer depends on, made by the caller
	Schema   string    // how Payload is encoded
	Time     time.Time // when the answer was fetched
	Payload  []byte
}

// The file format: a header, then the gob encoding of an Entry.
//
//	magic (8 bytes) | version (uint16) | CRC-32C of the body (uint32) | body length (uint64) | body
//
// A new version is read by a new reader; an older or newer one is refused
// (and its answer fetched again) rather than guessed at.
const (
	magic         = "QXANSWER"
	formatVersion = 1
	headerLen     = len(magic) + 2 + 4 + 8
	fileSuffix    = ".answer"
	// maxFileBytes refuses to load a file no answer could have made: the
	// largest vendor answer is 32 MiB of JSON, its snapshot far smaller.
	maxFileBytes = 256 << 20
	// staleTemp is the age past which a temporary file is a crash's
	// leftover; a write takes milliseconds.
	staleTemp = time.Minute
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// The operations counted in quota_exporter_storage_errors_total.
const (
	opLoad   = "load"
	opSave   = "save"
	opRemove = "remove"
)

// Store is a directory of answers. Its methods are safe for concurrent use;
// saves of the same key race only to the rename, so the last one wins whole.
type Store struct {
	dir    string
	logger log.Logger
	errors *prometheus.CounterVec
}

// New returns the store in dir, creating the directory (mode 0700) if need
// be. A directory that cannot be created is logged, not fatal: every save
// then fails, is counted, and the exporter works from memory.
func New(dir string, logger log.Logger, reg prometheus.Registerer) *Store {
	s := &Store{
		dir:    dir,
		logger: log.With(logger, "storage", dir),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "quota_exporter",
			Name:      "storage_errors_total",
			Help:      "Failures to load, save or remove an account's stored answer in --storage.path, by operation; a failure never fails a scrape.",
		}, []string{"operation"}),
	}
	for _, op := range []string{opLoad, opSave, opRemove} {
		s.errors.WithLabelValues(op)
	}
	if reg != nil {
		reg.MustRegister(s.errors)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		level.Error(s.logger).Log("msg", "cannot create the storage directory; answers will not survive a restart", "err", err)
	}
	return s
}

// fileName is derived from the key, so that any account name is a safe,
// fixed-length file name.
func fileName(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:16]) + fileSuffix
}

// Save writes e in place of the key's previous answer.
func (s *Store) Save(e Entry) error {
	if err := s.save(e); err != nil {
		s.errors.WithLabelValues(opSave).Inc()
		return fmt.Errorf("saving the answer: %w", err)
	}
	return nil
}

func (s *Store) save(e Entry) error {
	var body bytes.Buffer
	body.Write(make([]byte, headerLen))
	if err := gob.NewEncoder(&body).Encode(e); err != nil {
		return err
	}
	data := body.Bytes()
	payload := data[headerLen:]
	copy(data, magic)
	binary.BigEndian.PutUint16(data[len(magic):], formatVersion)
	binary.BigEndian.PutUint32(data[len(magic)+2:], crc32.Checksum(payload, castagnoli))
	binary.BigEndian.PutUint64(data[len(magic)+6:], uint64(len(payload)))

	final := filepath.Join(s.dir, fileName(e.Key))
	tmp, err := os.CreateTemp(s.dir, fileName(e.Key)+".tmp*") // mode 0600
	if err != nil {
		return err
	}
	_, err = tmp.Write(data)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), final)
	}
	if err != nil {
		_ = os.Remove(tmp.Name()) // best effort: a leftover is removed by Prune
		return err
	}
	return s.syncDir()
}

// syncDir makes the rename itself durable.
func (s *Store) syncDir() error {
	d, err := os.Open(s.dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// Load returns the key's answer. An error wrapping fs.ErrNotExist means none
// is stored; any other error (unreadable, truncated, corrupt, foreign, of
// another format version) is counted and means the file cannot be used.
func (s *Store) Load(key string) (Entry, error) {
	e, err := s.load(key)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		s.errors.WithLabelValues(opLoad).Inc()
	}
	return e, err
}

func (s *Store) load(key string) (Entry, error) {
	path := filepath.Join(s.dir, fileName(key))
	info, err := os.Stat(path)
	if err != nil {
		return Entry{}, err
	}
	if !info.Mode().IsRegular() || info.Size() > maxFileBytes {
		return Entry{}, fmt.Errorf("%s: not a regular file of at most %d bytes", path, maxFileBytes)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return Entry{}, err
	}
	body, err := checkHeader(data)
	if err != nil {
		return Entry{}, fmt.Errorf("%s: %w", path, err)
	}
	var e Entry
	if err := gob.NewDecoder(bytes.NewReader(body)).Decode(&e); err != nil {
		return Entry{}, fmt.Errorf("%s: decoding: %w", path, err)
	}
	if e.Key != key {
		return Entry{}, fmt.Errorf("%s: holds the answer of another account", path)
	}
	return e, nil
}

// checkHeader returns the body of a file that is whole and ours.
func checkHeader(data []byte) ([]byte, error) {
	if len(data) < headerLen || string(data[:len(magic)]) != magic {
		return nil, errors.New("not a stored answer")
	}
	if v := binary.BigEndian.Uint16(data[len(magic):]); v != formatVersion {
		return nil, fmt.Errorf("format version %d, this version reads %d", v, formatVersion)
	}
	body := data[headerLen:]
	if n := binary.BigEndian.Uint64(data[len(magic)+6:]); n != uint64(len(body)) {
		return nil, fmt.Errorf("truncated or extended: %d bytes of %d", len(body), n)
	}
	if crc32.Checksum(body, castagnoli) != binary.BigEndian.Uint32(data[len(magic)+2:]) {
		return nil, errors.New("checksum mismatch")
	}
	return body, nil
}

// Prune removes the answers of every key but keep, and temporary files left
// by a crash. Other files in the directory are not touched.
func (s *Store) Prune(keep []string) {
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		s.errors.WithLabelValues(opRemove).Inc()
		level.Warn(s.logger).Log("msg", "cannot list the storage directory to remove old answers", "err", err)
		return
	}
	kept := make(map[string]bool, len(keep))
	for _, k := range keep {
		kept[fileName(k)] = true
	}
	for _, de := range entries {
		name := de.Name()
		var remove bool
		switch {
		case strings.HasSuffix(name, fileSuffix):
			remove = !kept[name]
		case strings.Contains(name, fileSuffix+".tmp"):
			info, err := de.Info()
			remove = err == nil && time.Since(info.ModTime()) > staleTemp
		}
		if !remove {
			continue
		}
		if err := os.Remove(filepath.Join(s.dir, name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			s.errors.WithLabelValues(opRemove).Inc()
			level.Warn(s.logger).Log("msg", "cannot remove an old answer", "err", err)
			continue
		}
		level.Debug(s.logger).Log("msg", "removed an answer no longer needed", "file", name)
	}
}
