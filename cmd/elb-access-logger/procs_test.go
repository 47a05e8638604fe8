package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"runtime"
	"strings"
	"testing"
	"time"
)

func TestGOMAXPROCSFlagUsage(t *testing.T) {
	props := writeProps(t, "metadata.endpoint =\nspool.dir = "+t.TempDir()+"\n")
	for _, arg := range []string{"0", "-1", "x"} {
		var stdout, stderr bytes.Buffer
		err := run(context.Background(), []string{"--config", props, "--gomaxprocs", arg}, &stdout, &stderr)
		if got := exitCode(err); got != exitUsage {
			t.Errorf("--gomaxprocs %s: exit code %d (%v), want %d", arg, got, err, exitUsage)
		}
		if err == nil || !strings.Contains(err.Error()+stderr.String(), "gomaxprocs") {
			t.Errorf("--gomaxprocs %s: error %v does not name the flag (stderr %q)", arg, err, stderr.String())
		}
	}
}

// The thread count is one until the agent falls behind, max while it
// reports it is behind, and one again after a quiet period.
func TestThreads(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	th := newThreads(3, slog.New(slog.NewTextHandler(io.Discard, nil)))
	th.quiet = 200 * time.Millisecond
	th.start(ctx)
	if got := runtime.GOMAXPROCS(0); got != 1 {
		t.Fatalf("after start: GOMAXPROCS %d, want 1", got)
	}
	th.behind()
	if got := runtime.GOMAXPROCS(0); got != 3 {
		t.Fatalf("after behind: GOMAXPROCS %d, want 3", got)
	}
	// Reports closer together than the quiet period keep it raised.
	for range 6 {
		time.Sleep(th.quiet / 3)
		th.behind()
		if got := runtime.GOMAXPROCS(0); got != 3 {
			t.Fatalf("while behind: GOMAXPROCS %d, want 3", got)
		}
	}
	deadline := time.Now().Add(10 * th.quiet)
	for runtime.GOMAXPROCS(0) != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("GOMAXPROCS still %d %v after the last report, want 1 after %v of quiet", runtime.GOMAXPROCS(0), 10*th.quiet, th.quiet)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// With --gomaxprocs 1 nothing raises it.
func TestThreadsMaxOne(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	th := newThreads(1, slog.New(slog.NewTextHandler(io.Discard, nil)))
	th.start(ctx)
	th.behind()
	if got := runtime.GOMAXPROCS(0); got != 1 {
		t.Fatalf("max 1: GOMAXPROCS %d after behind, want 1", got)
	}
}
