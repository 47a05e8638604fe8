package agent

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/elb-access-logger/elb-access-logger/uploader"
)

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
			err := retry(context.Background(), b, tt.attempts, func(context.Context) error {
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
	err := retry(ctx, Backoff{Base: time.Hour, Max: time.Hour}, 10, func(context.Context) error { return errors.New("down") })
	if err == nil || time.Since(start) > 5*time.Second {
		t.Fatalf("got %v after %v, want the last error soon after cancel", err, time.Since(start))
	}
}
