package main

import (
	"context"
	"log/slog"
	"runtime"
	"sync"
	"time"
)

// threads decides how many threads run the agent's Go code at once
// (GOMAXPROCS): one while ingest keeps up, up to max while it is behind.
//
// On one thread the socket reader and the handler (parse, encode, spool)
// take turns: measured at 200,000 datagrams/s, that costs about a quarter
// less CPU per line than two threads, where the runtime pays for waking and
// parking a second thread at every hand-off (docs/performance.md). But one
// thread caps ingest at what one core parses, and an upload's hashing takes
// turns with it too. So when the agent's listeners report that they fall
// behind (agent.OnBehind: a backlog of full chunks, or kernel drops), the
// runtime gets max threads at once; after quiet of it drops back to one.
// Changing GOMAXPROCS stops the world for microseconds, and happens at most
// once per quiet period in each direction.
type threads struct {
	max   int
	quiet time.Duration
	log   *slog.Logger

	mu     sync.Mutex
	raised bool
	last   time.Time // the latest report of falling behind
}

// threadsQuiet is how long the agent keeps up before it drops back to one
// thread.
const threadsQuiet = time.Minute

func newThreads(max int, log *slog.Logger) *threads {
	return &threads{max: max, quiet: threadsQuiet, log: log}
}

// start runs Go code on one thread and lowers the count again, after each
// raise, once the listeners have kept up for t.quiet; until ctx ends.
func (t *threads) start(ctx context.Context) {
	runtime.GOMAXPROCS(1)
	go func() {
		tick := time.NewTicker(t.quiet / 4)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case now := <-tick.C:
				t.lower(now)
			}
		}
	}()
}

// behind is agent.OnBehind: it raises the thread count to max.
func (t *threads) behind() {
	if t.max <= 1 {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.last = time.Now()
	if !t.raised {
		t.raised = true
		runtime.GOMAXPROCS(t.max)
		t.log.Info("ingest fell behind: more threads", "gomaxprocs", t.max)
	}
}

func (t *threads) lower(now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.raised && now.Sub(t.last) >= t.quiet {
		t.raised = false
		runtime.GOMAXPROCS(1)
		t.log.Info("ingest keeps up: one thread", "gomaxprocs", 1, "quiet_for", t.quiet)
	}
}
