// Package logging is the daemon's log output: log/slog with a level and a
// format (logfmt or JSON) that a configuration reload can change while the
// process runs (log.level, log.format).
//
// Loggers derived with With or WithGroup before a change follow it: the
// switch happens below them, in one Handler that delegates to the handler
// of the format in force.
package logging

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync/atomic"
)

// Levels and formats log.level and log.format take.
var (
	Levels  = []string{"debug", "info", "warn", "error"}
	Formats = []string{FormatLogfmt, FormatJSON}
)

// Formats of the output.
const (
	FormatLogfmt = "logfmt" // slog's TextHandler: time=... level=INFO msg=...
	FormatJSON   = "json"   // one JSON object a line
)

// ParseLevel returns the slog level of a log.level value.
func ParseLevel(s string) (slog.Level, error) {
	switch strings.ToLower(s) {
	case "debug":
		return slog.LevelDebug, nil
	case "info":
		return slog.LevelInfo, nil
	case "warn":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return 0, fmt.Errorf("log level %q is not one of %s", s, strings.Join(Levels, ", "))
}

// Switch owns the output's level and format. Safe for concurrent use.
type Switch struct {
	w     io.Writer
	level slog.LevelVar
	base  atomic.Pointer[base] // the handler of the format in force
}

// base is the handler of one format; gen tells derived handlers that
// their cached handler is stale.
type base struct {
	h      slog.Handler
	format string
	gen    uint64
}

// New returns a Switch writing to w at level in format.
func New(w io.Writer, level, format string) (*Switch, error) {
	s := &Switch{w: w}
	if err := s.Set(level, format); err != nil {
		return nil, err
	}
	return s, nil
}

// Set changes the level and the format; loggers already made follow. On
// error nothing changes.
func (s *Switch) Set(level, format string) error {
	l, err := ParseLevel(level)
	if err != nil {
		return err
	}
	old := s.base.Load()
	if old == nil || old.format != format {
		opts := &slog.HandlerOptions{Level: &s.level}
		var h slog.Handler
		switch format {
		case FormatLogfmt:
			h = slog.NewTextHandler(s.w, opts)
		case FormatJSON:
			h = slog.NewJSONHandler(s.w, opts)
		default:
			return fmt.Errorf("log format %q is not one of %s", format, strings.Join(Formats, ", "))
		}
		var gen uint64
		if old != nil {
			gen = old.gen + 1
		}
		s.base.Store(&base{h: h, format: format, gen: gen})
	}
	s.level.Set(l)
	return nil
}

// Level returns the level in force.
func (s *Switch) Level() slog.Level { return s.level.Level() }

// Logger returns a logger writing through the switch.
func (s *Switch) Logger() *slog.Logger { return slog.New(&handler{sw: s}) }

// handler delegates to the base handler in force, with the attributes and
// groups of With and WithGroup applied in order.
type handler struct {
	sw     *Switch
	derive []func(slog.Handler) slog.Handler
	cache  atomic.Pointer[derived] // the base with derive applied, for its gen
}

type derived struct {
	gen uint64
	h   slog.Handler
}

func (h *handler) current() slog.Handler {
	b := h.sw.base.Load()
	if len(h.derive) == 0 {
		return b.h
	}
	if d := h.cache.Load(); d != nil && d.gen == b.gen {
		return d.h
	}
	out := b.h
	for _, f := range h.derive {
		out = f(out)
	}
	h.cache.Store(&derived{gen: b.gen, h: out})
	return out
}

func (h *handler) Enabled(_ context.Context, l slog.Level) bool { return l >= h.sw.level.Level() }

func (h *handler) Handle(ctx context.Context, r slog.Record) error { return h.current().Handle(ctx, r) }

func (h *handler) with(f func(slog.Handler) slog.Handler) *handler {
	return &handler{sw: h.sw, derive: append(h.derive[:len(h.derive):len(h.derive)], f)}
}

func (h *handler) WithAttrs(as []slog.Attr) slog.Handler {
	if len(as) == 0 {
		return h
	}
	return h.with(func(b slog.Handler) slog.Handler { return b.WithAttrs(as) })
}

func (h *handler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	return h.with(func(b slog.Handler) slog.Handler { return b.WithGroup(name) })
}

// SetLevelFormat is Set, for a consumer that holds only the logger's
// handler (the agent applies log.level and log.format of a reload so).
func (h *handler) SetLevelFormat(level, format string) error { return h.sw.Set(level, format) }
