package ingest

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

// lineSink keeps the lines appended (raw format: the message as sent).
type lineSink struct {
	mu    sync.Mutex
	lines []string
}

func (s *lineSink) AppendCounted(line []byte, _, _ bool) error {
	s.mu.Lock()
	s.lines = append(s.lines, string(line))
	s.mu.Unlock()
	return nil
}

func (s *lineSink) n() int { s.mu.Lock(); defer s.mu.Unlock(); return len(s.lines) }

func (s *lineSink) all() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.lines...)
}

// waitLines waits up to 10 s for n lines.
func (s *lineSink) waitLines(t *testing.T, n int) []string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for s.n() < n && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	got := s.all()
	if len(got) != n {
		t.Fatalf("got %d lines, want %d: %q", len(got), n, got)
	}
	return got
}

// serveIngest binds addrs and serves them until the test ends.
func serveIngest(t *testing.T, o Options, addrs ...string) (*Ingest, *lineSink, context.CancelFunc) {
	t.Helper()
	sink := &lineSink{}
	o.Format, o.Enabled = "raw", true
	if o.Log == nil {
		o.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	in, err := New(sink, o)
	if err != nil {
		t.Fatal(err)
	}
	if err := in.Bind(addrs); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	in.Serve(ctx)
	t.Cleanup(func() { cancel(); in.Wait(); in.Close() })
	return in, sink, cancel
}

func statsOf(t *testing.T, in *Ingest, prefix string) ListenerStats {
	t.Helper()
	for _, l := range in.Stats().Listeners {
		if strings.HasPrefix(l.Name, prefix) {
			return l
		}
	}
	t.Fatalf("no listener %s in %+v", prefix, in.Stats().Listeners)
	return ListenerStats{}
}

// rawLine is a syslog message the raw format keeps as it is.
func rawLine(i int) string { return fmt.Sprintf("<134>Dec  5 01:00:00 haproxy[1]: line %d", i) }

func TestParseListen(t *testing.T) {
	for s, want := range map[string]string{
		"udp://127.0.0.1:514":                  "udp 127.0.0.1:514",
		"tcp://[::1]:6514":                     "tcp [::1]:6514",
		"unix:///run/elb-access-logger/h.sock": "unix /run/elb-access-logger/h.sock",
		"unix://run/h.sock":                    "error",
		"unix:relative.sock":                   "error",
		"tcp://127.0.0.1":                      "error",
		"tcps://127.0.0.1:6514":                "error",
		"udp://127.0.0.1:514/x":                "error",
		"unix:///run/elb-access-logger/":       "error",
		"http://127.0.0.1:514":                 "error",
	} {
		scheme, addr, err := ParseListen(s)
		got := scheme + " " + addr
		if err != nil {
			got = "error"
		}
		if got != want {
			t.Errorf("%s: got %s (%v), want %s", s, got, err, want)
		}
	}
}
