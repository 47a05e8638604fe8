package identity

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"
)

// Source completes an identity: it fills the empty fields of id and keeps
// the others. An error means this attempt failed; the Resolver retries.
type Source interface {
	Fill(ctx context.Context, id Identity) (Identity, error)
}

var _ Source = (*MetadataClient)(nil)

// Resolver backoff: the first retry after RetryMin, doubling to RetryMax,
// each with up to 50% jitter.
const (
	RetryMin = time.Second
	RetryMax = 5 * time.Minute
)

// Resolver completes identities from a Source in the background, retrying
// with backoff, and delivers each result through one callback. A newer
// Resolve supersedes the older ones: once it returns, no older result is
// delivered.
type Resolver struct {
	src     Source // nil: identities are delivered as they are
	timeout time.Duration
	log     *slog.Logger
	deliver func(id Identity, complete bool)

	// mu guards gen and cancel. It is held while deliver runs, so a
	// superseded result cannot slip in after a newer Resolve: lock order
	// Resolver.mu before whatever deliver takes.
	mu     sync.Mutex
	gen    int
	cancel context.CancelFunc
	wg     sync.WaitGroup // resolutions running
}

// NewResolver returns a resolver asking src (nil: none, such as with
// metadata.endpoint empty), each attempt bounded by timeout, that calls
// deliver with each resolved identity and whether it is complete for the
// bucket template it was resolved for.
func NewResolver(src Source, timeout time.Duration, log *slog.Logger, deliver func(id Identity, complete bool)) *Resolver {
	return &Resolver{src: src, timeout: timeout, log: log, deliver: deliver}
}

// Resolve starts completing base (the property file's overrides) for
// bucketTemplate and returns at once. A base already complete is delivered
// as it is; else the source is asked until it answers or ctx is done (then
// nothing is delivered). Lines keep being spooled meanwhile.
func (r *Resolver) Resolve(ctx context.Context, base Identity, bucketTemplate string) {
	r.mu.Lock()
	if r.cancel != nil {
		r.cancel()
	}
	r.gen++
	gen := r.gen
	ctx, cancel := context.WithCancel(ctx)
	r.cancel = cancel
	r.mu.Unlock()
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		defer cancel()
		id, ok := r.resolve(ctx, base, bucketTemplate)
		if !ok {
			return
		}
		r.mu.Lock()
		defer r.mu.Unlock()
		if gen != r.gen {
			return
		}
		r.deliver(id, Complete(id, bucketTemplate))
	}()
}

// Wait waits until every resolution started has ended. Cancel the context
// given to Resolve first.
func (r *Resolver) Wait() { r.wg.Wait() }

// resolve asks the source until it answers; false when ctx ended first.
func (r *Resolver) resolve(ctx context.Context, base Identity, bucketTemplate string) (Identity, bool) {
	if r.src == nil || Complete(base, bucketTemplate) {
		return base, true
	}
	delay := RetryMin
	lastErr := ""
	for attempt := 1; ; attempt++ {
		actx, cancel := context.WithTimeout(ctx, r.timeout)
		id, err := r.src.Fill(actx, base)
		cancel()
		if err == nil {
			r.log.Info("identity from instance metadata", "account", id.Account, "lb_name", id.LBName,
				"node_ip", id.PublicIPv4, "instance_id", id.InstanceID, "region", id.Region, "attempts", attempt)
			return id, true
		}
		if ctx.Err() != nil {
			return Identity{}, false
		}
		if msg := err.Error(); msg != lastErr {
			lastErr = msg
			r.log.Warn("instance metadata unavailable; lines are spooled, uploads wait", "err", err, "retry_in", delay.String())
		}
		select {
		case <-ctx.Done():
			return Identity{}, false
		case <-time.After(delay + rand.N(delay/2+1)):
		}
		delay = min(2*delay, RetryMax)
	}
}
