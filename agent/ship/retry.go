package ship

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

// DefaultBackoff is what the agent waits between failed store calls.
var DefaultBackoff = Backoff{Base: 500 * time.Millisecond, Max: 30 * time.Second}

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

// After returns how long to wait after the n-th consecutive failure err:
// Delay(n), or longer when the store asked for a pause (the Retry-After
// header of a 503 SlowDown or a 429). The store's pause gets up to a
// quarter more at random, so nodes told the same pause do not come back in
// the same second.
func (b Backoff) After(n int, err error) time.Duration {
	d := b.Delay(n)
	if ra := uploader.RetryAfter(err); ra > 0 {
		d = max(d, ra+rand.N(ra/4+1))
	}
	return d
}

// permanent is how an error that is not the uploader's says whether it will
// go away by retrying.
type permanent interface{ Retryable() bool }

// Retryable reports whether err may succeed if tried again soon. The
// uploader classifies its own errors (a 403 or a bad bucket name is
// permanent). The agent still keeps the data spooled after a permanent
// error and tries again in a later round; it just does not hammer the
// store.
func Retryable(err error) bool {
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

// Retry calls fn until it succeeds, returns an error that is not
// retryable, or has failed attempts times, waiting b.After between tries.
// It returns at once when ctx is done. Every store call of the agent goes
// through it.
func Retry(ctx context.Context, b Backoff, attempts int, fn func(context.Context) error) error {
	var err error
	for i := 1; ; i++ {
		if cerr := ctx.Err(); cerr != nil {
			if err == nil {
				err = cerr
			}
			return err
		}
		if err = fn(ctx); err == nil || i >= attempts || !Retryable(err) {
			return err
		}
		t := time.NewTimer(b.After(i, err))
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
	}
}

// ErrOnce logs a failure once per distinct cause, and its end once.
type ErrOnce struct {
	mu   sync.Mutex // guards last
	last string
}

// Failed reports whether err is new (and so should be logged).
func (e *ErrOnce) Failed(err error) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	msg := err.Error()
	if msg == e.last {
		return false
	}
	e.last = msg
	return true
}

// OK reports whether the condition that failed has just ended.
func (e *ErrOnce) OK() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	was := e.last != ""
	e.last = ""
	return was
}
