package logging

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/elb-access-logger/elb-access-logger/internal/testbed"
)

// A reload changes level and format under loggers made before it; their
// attributes and groups stay.
func TestSwitchFollowsLevelAndFormat(t *testing.T) {
	var b bytes.Buffer
	s, err := New(&b, "info", "logfmt")
	if err != nil {
		t.Fatal(err)
	}
	log := s.Logger().With("component", "spool").WithGroup("g").With("k", 1)
	log.Debug("hidden")
	log.Info("shown")
	if got := b.String(); strings.Contains(got, "hidden") || !strings.Contains(got, `level=INFO msg=shown component=spool g.k=1`) {
		t.Fatalf("info, logfmt: %q", got)
	}
	b.Reset()
	if err := s.Set("debug", "json"); err != nil {
		t.Fatal(err)
	}
	log.Debug("now shown")
	var rec map[string]any
	if err := json.Unmarshal(b.Bytes(), &rec); err != nil {
		t.Fatalf("json: %v: %q", err, b.String())
	}
	if rec["msg"] != "now shown" || rec["level"] != "DEBUG" || rec["component"] != "spool" || rec["g"].(map[string]any)["k"] != 1.0 {
		t.Errorf("debug, json: %v", rec)
	}
	b.Reset()
	if err := s.Set("error", "yaml"); err == nil {
		t.Error("format yaml accepted")
	}
	if err := s.Set("loud", "logfmt"); err == nil {
		t.Error("level loud accepted")
	}
	log.Debug("still json and debug")
	if !strings.HasPrefix(b.String(), "{") {
		t.Errorf("a rejected Set changed the output: %q", b.String())
	}
	b.Reset()
	s.Set("warn", "logfmt")
	log.Info("hidden")
	log.Warn("w")
	if got := b.String(); strings.Contains(got, "hidden") || !strings.Contains(got, "level=WARN msg=w component=spool") {
		t.Errorf("warn, logfmt: %q", got)
	}
	if h, ok := log.Handler().(interface{ SetLevelFormat(string, string) error }); !ok || h.SetLevelFormat("error", "json") != nil || s.Level() != slog.LevelError {
		t.Error("SetLevelFormat through the handler")
	}
}

// Switching while loggers write races with nothing (run under -race).
func TestSwitchConcurrent(t *testing.T) {
	s, _ := New(&testbed.Buffer{}, "info", "logfmt")
	log := s.Logger().With("a", 1)
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() {
			for j := range 200 {
				log.Info("x", "i", i, "j", j)
			}
		})
	}
	for j := range 50 {
		s.Set(Levels[j%4], Formats[j%2])
	}
	wg.Wait()
}
