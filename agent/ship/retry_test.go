package ship

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/elb-access-logger/elb-access-logger/uploader"
)

// notRetryable is an error the store will keep giving (a 403, say).
type notRetryable struct{ error }

func (notRetryable) Retryable() bool { return false }
func (e notRetryable) Unwrap() error { return e.error }

func TestBackoffDelay(t *testing.T) {
	b := Backoff{Base: 100 * time.Millisecond, Max: time.Second}
	tests := []struct {
		n        int
		min, max time.Duration
	}{
		{1, 50 * time.Millisecond, 100 * time.Millisecond},
		{2, 100 * time.Millisecond, 200 * time.Millisecond},
		{4, 400 * time.Millisecond, 800 * time.Millisecond},
		{5, 500 * time.Millisecond, time.Second}, // capped
		{50, 500 * time.Millisecond, time.Second},
	}
	for _, tt := range tests {
		for range 100 {
			if got := b.Delay(tt.n); got < tt.min || got > tt.max {
				t.Fatalf("Delay(%d): got %v, want in [%v, %v]", tt.n, got, tt.min, tt.max)
			}
		}
	}
}

func TestRetry(t *testing.T) {
	transient := errors.New("503")
	denied := &uploader.Error{Op: "put object", Kind: uploader.ErrAccessDenied, Err: errors.New("403 AccessDenied")}
	throttled := &uploader.Error{Op: "put object", Kind: uploader.ErrServer, Err: errors.New("503 SlowDown")}
	tests := []struct {
		name      string
		errs      []error // returned by successive calls; nil after the end
		attempts  int
		wantCalls int
		wantErr   error
	}{
		{"success at once", nil, 3, 1, nil},
		{"success after transient errors", []error{transient, transient}, 3, 3, nil},
		{"gives up after attempts", []error{transient, transient, transient, transient}, 3, 3, transient},
		{"stops on a permanent error", []error{notRetryable{transient}}, 3, 1, transient},
		{"stops on the uploader's access denied", []error{denied}, 3, 1, uploader.ErrAccessDenied},
		{"retries the uploader's server error", []error{throttled, throttled}, 3, 3, nil},
	}
	b := Backoff{Base: time.Millisecond, Max: 2 * time.Millisecond}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			calls := 0
			err := Retry(context.Background(), b, tt.attempts, func(context.Context) error {
				calls++
				if calls <= len(tt.errs) {
					return tt.errs[calls-1]
				}
				return nil
			})
			if calls != tt.wantCalls {
				t.Errorf("calls: got %d, want %d", calls, tt.wantCalls)
			}
			if !errors.Is(err, tt.wantErr) && !(err == nil && tt.wantErr == nil) {
				t.Errorf("error: got %v, want %v", err, tt.wantErr)
			}
		})
	}
}

func TestRetryReturnsWhenContextDone(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	start := time.Now()
	time.AfterFunc(20*time.Millisecond, cancel)
	err := Retry(ctx, Backoff{Base: time.Hour, Max: time.Hour}, 10, func(context.Context) error { return errors.New("down") })
	if err == nil || time.Since(start) > 5*time.Second {
		t.Fatalf("got %v after %v, want the last error soon after cancel", err, time.Since(start))
	}
}

// TestBackoffAfterHonoursRetryAfter: the store's Retry-After wins over a
// shorter backoff, with at most a quarter of jitter on top.
func TestBackoffAfterHonoursRetryAfter(t *testing.T) {
	b := Backoff{Base: 100 * time.Millisecond, Max: time.Second}
	slow := func(ra time.Duration) error {
		return &uploader.Error{Op: "put object", Kind: uploader.ErrServer, Err: errors.New("503 SlowDown"), RetryAfter: ra}
	}
	tests := []struct {
		name     string
		n        int
		err      error
		min, max time.Duration
	}{
		{"no header", 1, slow(0), 50 * time.Millisecond, 100 * time.Millisecond},
		{"longer than backoff", 1, slow(4 * time.Second), 4 * time.Second, 5 * time.Second},
		{"shorter than backoff", 5, slow(10 * time.Millisecond), 500 * time.Millisecond, time.Second},
		{"plain error", 1, errors.New("down"), 50 * time.Millisecond, 100 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			seen := map[time.Duration]bool{}
			for range 200 {
				got := b.After(tt.n, tt.err)
				if got < tt.min || got > tt.max {
					t.Fatalf("After(%d): got %v, want in [%v, %v]", tt.n, got, tt.min, tt.max)
				}
				seen[got] = true
			}
			if len(seen) < 10 {
				t.Errorf("After(%d): %d distinct delays in 200 calls, want jitter", tt.n, len(seen))
			}
		})
	}
}

// TestRetryWaitsRetryAfter: retry waits what the store asked before the
// next attempt.
func TestRetryWaitsRetryAfter(t *testing.T) {
	calls := 0
	var gap time.Duration
	var last time.Time
	err := Retry(context.Background(), Backoff{Base: time.Millisecond, Max: 2 * time.Millisecond}, 2, func(context.Context) error {
		calls++
		if calls == 2 {
			gap = time.Since(last)
			return nil
		}
		last = time.Now()
		return &uploader.Error{Op: "put object", Kind: uploader.ErrServer, Err: errors.New("429"), RetryAfter: 300 * time.Millisecond}
	})
	if err != nil || calls != 2 {
		t.Fatalf("retry: got %v after %d calls, want nil after 2", err, calls)
	}
	if gap < 300*time.Millisecond || gap > 2*time.Second {
		t.Errorf("gap between attempts: got %v, want at least the 300ms the store asked for", gap)
	}
}
