package agent

import (
	"context"
	"errors"
	"io/fs"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/elb-access-logger/elb-access-logger/uploader"
)

// Backoff is capped exponential backoff with jitter.
type Backoff struct {
	Base time.Duration // delay after the first failure
	Max  time.Duration // cap
}

// defaultBackoff is what the agent waits between failed store calls.
var defaultBackoff = Backoff{Base: 500 * time.Millisecond, Max: 30 * time.Second}

// Delay returns how long to wait after the n-th consecutive failure (n >= 1):
// Base doubled n-1 times, capped at Max, of which the upper half is random
// ("equal jitter"), so a fleet of nodes that failed together does not retry
// together.
func (b Backoff) Delay(n int) time.Duration {
	d := b.Base
	for i := 1; i < n && d < b.Max; i++ {
		d *= 2
	}
	d = min(d, b.Max)
	if d <= 1 {
		return d
	}
	half := d / 2
	return half + rand.N(d-half)
}

// permanent is how an error that is not the uploader's says whether it will
// go away by retrying.
type permanent interface{ Retryable() bool }

// retryable reports whether err may succeed if tried again soon. The
// uploader classifies its own errors (a 403 or a bad bucket name is
// permanent). The agent still keeps the data spooled after a permanent
// error and tries again in a later round; it just does not hammer the
// store.
func retryable(err error) bool {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, fs.ErrNotExist) {
		return false // a segment file gone (evicted) will not come back
	}
	var ue *uploader.Error
	if errors.As(err, &ue) {
		return uploader.Retryable(err)
	}
	var p permanent
	if errors.As(err, &p) {
		return p.Retryable()
	}
	return true
}

// retry calls fn until it succeeds, returns an error that is not
// retryable, or has failed attempts times, waiting b.Delay between tries.
// It returns at once when ctx is done. Every store call of the agent goes
// through it.
func retry(ctx context.Context, b Backoff, attempts int, fn func(context.Context) error) error {
	var err error
	for i := 1; ; i++ {
		if cerr := ctx.Err(); cerr != nil {
			if err == nil {
				err = cerr
			}
			return err
		}
		if err = fn(ctx); err == nil || i >= attempts || !retryable(err) {
			return err
		}
		t := time.NewTimer(b.Delay(i))
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
	}
}

// errOnce logs a failure once per distinct cause, and its end once.
type errOnce struct {
	mu   sync.Mutex
	last string
}

// failed reports whether err is new (and so should be logged).
func (e *errOnce) failed(err error) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	msg := err.Error()
	if msg == e.last {
		return false
	}
	e.last = msg
	return true
}

// ok reports whether the condition that failed has just ended.
func (e *errOnce) ok() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	was := e.last != ""
	e.last = ""
	return was
}
