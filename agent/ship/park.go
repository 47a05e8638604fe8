package ship

import (
	"context"
	"errors"
	"io/fs"
	"sync"
	"time"

	"github.com/elb-access-logger/elb-access-logger/agent/spool"
)

// DefaultParkBackoff is how long a parked segment waits before its next
// try: a minute after its first permanent failure, doubling to an hour.
var DefaultParkBackoff = Backoff{Base: time.Minute, Max: time.Hour}

// Permanent reports whether err is a failure that trying again soon will
// not fix (a 403, a bucket its owner deleted, a refused key): the segment
// is parked. A cancelled round or a segment gone (evicted) is not a
// failure of the segment.
func Permanent(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, fs.ErrNotExist) {
		return false
	}
	return !Retryable(err)
}

// Parking holds the segments whose upload failed permanently, each with a
// backoff of its own, so that one bad segment never stalls the newer ones
// behind it: rounds skip a parked segment until its backoff is over, then
// try it once more. The zero value parks with DefaultParkBackoff.
type Parking struct {
	Backoff Backoff // zero: DefaultParkBackoff

	mu sync.Mutex           // guards m
	m  map[string]parkedSeg // by segment path
}

type parkedSeg struct {
	failures int
	until    time.Time
}

func (p *Parking) backoff() Backoff {
	if p.Backoff == (Backoff{}) {
		return DefaultParkBackoff
	}
	return p.Backoff
}

// Park parks seg after a permanent failure at now and returns how long it
// waits before its next try.
func (p *Parking) Park(seg spool.Segment, now time.Time) time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.m == nil {
		p.m = map[string]parkedSeg{}
	}
	ps := p.m[seg.Path]
	ps.failures++
	d := p.backoff().Delay(ps.failures)
	ps.until = now.Add(d)
	p.m[seg.Path] = ps
	return d
}

// Wait reports how long seg still waits at now (0: not parked, or due).
func (p *Parking) Wait(seg spool.Segment, now time.Time) time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	ps, ok := p.m[seg.Path]
	if !ok || !ps.until.After(now) {
		return 0
	}
	return ps.until.Sub(now)
}

// Release forgets seg: it was uploaded, or is gone.
func (p *Parking) Release(seg spool.Segment) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.m, seg.Path)
}

// ReleaseAll forgets every parked segment: the store changed (a bucket was
// provisioned again, permissions granted), so each is worth a try now.
func (p *Parking) ReleaseAll() {
	p.mu.Lock()
	defer p.mu.Unlock()
	clear(p.m)
}

// Keep forgets every parked segment not in segs (evicted, removed).
func (p *Parking) Keep(segs []spool.Segment) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.m) == 0 {
		return
	}
	live := make(map[string]bool, len(segs))
	for _, s := range segs {
		live[s.Path] = true
	}
	for path := range p.m {
		if !live[path] {
			delete(p.m, path)
		}
	}
}

// Len returns how many segments are parked, for metrics.
func (p *Parking) Len() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.m)
}
