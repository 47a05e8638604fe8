package spool_test

import (
	"context"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	. "github.com/elb-access-logger/elb-access-logger/agent/spool"
)

// The Clock flushes lines into the file every fsync interval, seals the
// window at its end (counting drops first) and then calls Sealed, and
// evicts beyond the bound what is not busy.
func TestClockFlushesSealsAndEvicts(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, every(time.Second), time.Now(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var beforeSeal, sealed atomic.Int32
	c := NewClock(s, 20*time.Millisecond, 1<<20, slog.New(slog.NewTextHandler(io.Discard, nil)), ClockHooks{
		BeforeSeal: func() { beforeSeal.Add(1); s.NoteDrops(3, 0) },
		Sealed:     func() { sealed.Add(1) },
		Result: func(err error) {
			if err != nil {
				t.Errorf("spool result: %v", err)
			}
		},
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); c.Run(ctx) }()
	appendLines(t, s, "one")
	deadline := time.Now().Add(5 * time.Second)
	for sealed.Load() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no window sealed by the clock")
		}
		time.Sleep(10 * time.Millisecond)
	}
	segs, _ := s.Sealed()
	if len(segs) != 1 || beforeSeal.Load() == 0 {
		t.Fatalf("after the window end: %d segments, BeforeSeal ran %d times; want 1 and >0", len(segs), beforeSeal.Load())
	}
	if got, _, _ := ReadCounts(segs[0]); got.Lines != 1 || got.KernelDrops != 3 {
		t.Errorf("counts: got %+v, want 1 line and the 3 drops noted before the seal", got)
	}
	// Over the bound: the next tick evicts the sealed segment.
	c.SetMaxBytes(0)
	for len(segs) > 0 {
		if time.Now().After(deadline) {
			t.Fatal("the segment over the bound was not evicted")
		}
		time.Sleep(10 * time.Millisecond)
		segs, _ = s.Sealed()
	}
	if st := s.Stats(); st.Evicted != 1 || st.EvictedLines != 1 {
		t.Errorf("stats: got %+v, want 1 segment of 1 line evicted", st)
	}
	cancel()
	<-done
}
