package agent

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/elb-access-logger/elb-access-logger/uploader"
)

// Old segments that fail permanently (a 403, a bucket its owner deleted)
// never stall the newer ones (issue 16, item 3): with one upload at a
// time, three failing segments used to end every round before any newer
// segment was tried. They are parked, each on a backoff of its own, and
// counted in segments_parked.
func TestAgentParksPermanentFailuresAndUploadsNewer(t *testing.T) {
	c := testConfig(t)
	c.MaxConcurrency = 1
	sealSegments(t, c.SpoolDir, 6)
	up := newMemUploader()
	var mu sync.Mutex
	calls := map[string]int{}
	poison := map[string]bool{}
	for i := 1; i <= 3; i++ { // the three oldest
		poison[uploader.SeedKey(t0.Add(time.Duration(i)*time.Minute))] = true
	}
	up.failKey = func(key string) error {
		if !poison[key] {
			return nil
		}
		mu.Lock()
		calls[key]++
		mu.Unlock()
		return notRetryable{errors.New("403 AccessDenied")}
	}
	var a *Agent
	_, cancel, done := startAgent(t, c, up, func(x *Agent) { a = x })
	defer func() { cancel(); <-done }()
	waitFor(t, "the three newer segments uploaded", func() bool { p, _, _ := up.snapshot(); return len(p) == 3 })
	waitFor(t, "three segments parked", func() bool {
		return scrape(t, a.MetricsAddr())["elb_access_logger_segments_parked"] == 3
	})
	time.Sleep(500 * time.Millisecond) // rounds go on: parked segments are not tried again yet
	mu.Lock()
	defer mu.Unlock()
	for key := range poison {
		if n := calls[key]; n != 1 {
			t.Errorf("%s: tried %d times, want once before its backoff is over", key, n)
		}
	}
	if segs := sealedIn(c.SpoolDir); len(segs) != 3 {
		t.Errorf("left in the spool: %d segments, want the 3 failing ones kept", len(segs))
	}
}
