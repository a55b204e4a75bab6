// Package logging builds the exporter's go-kit logger and bridges it to
// log/slog for libraries that log through slog (exporter-toolkit).
package logging

import (
	"context"
	"fmt"
	"io"
	"log/slog"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
)

// Levels and formats accepted by --log.level and --log.format.
var (
	Levels  = []string{"debug", "info", "warn", "error"}
	Formats = []string{"logfmt", "json"}
)

// New returns a logger writing to w in format ("logfmt" or "json") that
// drops records below lvl, with a UTC timestamp and the caller on each line,
// and a *slog.Logger over it for libraries that log through slog.
func New(w io.Writer, lvl, format string) (log.Logger, *slog.Logger, error) {
	var l log.Logger
	switch format {
	case "logfmt":
		l = log.NewLogfmtLogger(log.NewSyncWriter(w))
	case "json":
		l = log.NewJSONLogger(log.NewSyncWriter(w))
	default:
		return nil, nil, fmt.Errorf("unknown log format %q, want one of %v", format, Formats)
	}
	var filter level.Option
	var min slog.Level
	switch lvl {
	case "debug":
		filter, min = level.AllowDebug(), slog.LevelDebug
	case "info":
		filter, min = level.AllowInfo(), slog.LevelInfo
	case "warn":
		filter, min = level.AllowWarn(), slog.LevelWarn
	case "error":
		filter, min = level.AllowError(), slog.LevelError
	default:
		return nil, nil, fmt.Errorf("unknown log level %q, want one of %v", lvl, Levels)
	}
	l = level.NewFilter(l, filter)
	l = log.With(l, "ts", log.DefaultTimestampUTC, "caller", log.DefaultCaller)
	// The handler keeps the level itself so Enabled can skip building records
	// that the go-kit filter would drop.
	return l, slog.New(&slogHandler{logger: l, min: min}), nil
}

// slogHandler adapts slog records to a go-kit logger: the message becomes
// "msg", attributes become key-value pairs, groups prefix keys with "group.".
type slogHandler struct {
	logger log.Logger
	min    slog.Level
	group  string // prefix for keys of attributes added after WithGroup
}

func (h *slogHandler) Enabled(_ context.Context, lvl slog.Level) bool { return lvl >= h.min }

func (h *slogHandler) Handle(_ context.Context, r slog.Record) error {
	kv := make([]any, 0, 2+2*r.NumAttrs())
	kv = append(kv, "msg", r.Message)
	r.Attrs(func(a slog.Attr) bool {
		kv = appendAttr(kv, h.group, a)
		return true
	})
	return levelLogger(h.logger, r.Level).Log(kv...)
}

func (h *slogHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	kv := make([]any, 0, 2*len(attrs))
	for _, a := range attrs {
		kv = appendAttr(kv, h.group, a)
	}
	return &slogHandler{logger: log.With(h.logger, kv...), min: h.min, group: h.group}
}

func (h *slogHandler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	return &slogHandler{logger: h.logger, min: h.min, group: h.group + name + "."}
}

// appendAttr flattens a (possibly grouped) attribute into key-value pairs.
func appendAttr(kv []any, prefix string, a slog.Attr) []any {
	v := a.Value.Resolve()
	if v.Kind() == slog.KindGroup {
		if a.Key != "" {
			prefix += a.Key + "."
		}
		for _, ga := range v.Group() {
			kv = appendAttr(kv, prefix, ga)
		}
		return kv
	}
	if a.Equal(slog.Attr{}) {
		return kv
	}
	return append(kv, prefix+a.Key, v.Any())
}

func levelLogger(l log.Logger, lvl slog.Level) log.Logger {
	switch {
	case lvl >= slog.LevelError:
		return level.Error(l)
	case lvl >= slog.LevelWarn:
		return level.Warn(l)
	case lvl >= slog.LevelInfo:
		return level.Info(l)
	default:
		return level.Debug(l)
	}
}
