package identity

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"
)

// sourceFunc is a Source made of a function.
type sourceFunc func(ctx context.Context, id Identity) (Identity, error)

func (f sourceFunc) Fill(ctx context.Context, id Identity) (Identity, error) { return f(ctx, id) }

// results collects what a Resolver delivers.
type results struct {
	mu  sync.Mutex
	ids []Identity
	ok  []bool
	got chan struct{}
}

func newResults() *results { return &results{got: make(chan struct{}, 16)} }

func (r *results) deliver(id Identity, complete bool) {
	r.mu.Lock()
	r.ids, r.ok = append(r.ids, id), append(r.ok, complete)
	r.mu.Unlock()
	r.got <- struct{}{}
}

func (r *results) wait(t *testing.T) {
	t.Helper()
	select {
	case <-r.got:
	case <-time.After(10 * time.Second):
		t.Fatal("no identity delivered")
	}
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func TestResolverCompleteBaseSkipsTheSource(t *testing.T) {
	asked := false
	src := sourceFunc(func(context.Context, Identity) (Identity, error) { asked = true; return Identity{}, errors.New("no") })
	res := newResults()
	r := NewResolver(src, time.Second, quiet, res.deliver)
	base := Identity{Account: "123456789012", LBName: "lb"}
	r.Resolve(context.Background(), base, "b-{lb_name}")
	res.wait(t)
	r.Wait()
	if asked || res.ids[0] != base || !res.ok[0] {
		t.Errorf("got %+v complete %v (source asked: %v), want the base, complete, source not asked", res.ids[0], res.ok[0], asked)
	}
}

func TestResolverRetriesUntilTheSourceAnswers(t *testing.T) {
	var calls int
	src := sourceFunc(func(_ context.Context, id Identity) (Identity, error) {
		calls++
		if calls == 1 {
			return Identity{}, errors.New("metadata down")
		}
		id.Account, id.LBName = "123456789012", "from-source"
		return id, nil
	})
	res := newResults()
	r := NewResolver(src, time.Second, quiet, res.deliver)
	r.Resolve(context.Background(), Identity{Region: "r-1"}, "b-{lb_name}")
	res.wait(t)
	r.Wait()
	want := Identity{Account: "123456789012", LBName: "from-source", Region: "r-1"}
	if calls != 2 || res.ids[0] != want || !res.ok[0] {
		t.Errorf("got %+v complete %v after %d calls, want %+v complete after 2", res.ids[0], res.ok[0], calls, want)
	}
}

// TestResolverNewerSupersedes: a resolution still waiting for the source
// when a newer one starts never delivers.
func TestResolverNewerSupersedes(t *testing.T) {
	release := make(chan struct{})
	src := sourceFunc(func(ctx context.Context, id Identity) (Identity, error) {
		if id.LBName == "old" {
			<-release
		}
		id.Account = "123456789012"
		return id, nil
	})
	res := newResults()
	r := NewResolver(src, time.Minute, quiet, res.deliver)
	r.Resolve(context.Background(), Identity{LBName: "old"}, "b")
	r.Resolve(context.Background(), Identity{LBName: "new"}, "b")
	res.wait(t)
	close(release)
	r.Wait()
	res.mu.Lock()
	defer res.mu.Unlock()
	if len(res.ids) != 1 || res.ids[0].LBName != "new" {
		t.Errorf("delivered %+v, want only the newer resolution", res.ids)
	}
}

func TestResolverStopsWithItsContext(t *testing.T) {
	src := sourceFunc(func(ctx context.Context, id Identity) (Identity, error) { return Identity{}, errors.New("down") })
	res := newResults()
	r := NewResolver(src, time.Second, quiet, res.deliver)
	ctx, cancel := context.WithCancel(context.Background())
	r.Resolve(ctx, Identity{}, "b")
	cancel()
	done := make(chan struct{})
	go func() { r.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Wait did not return after the context was cancelled")
	}
	if len(res.ids) != 0 {
		t.Errorf("delivered %+v after cancel, want nothing", res.ids)
	}
}

func TestComplete(t *testing.T) {
	if Complete(Identity{LBName: "lb"}, "b-{lb_name}") {
		t.Error("without the account: want incomplete")
	}
	if Complete(Identity{Account: "1"}, "b-{lb_name}") {
		t.Error("without the template's lb_name: want incomplete")
	}
	if !Complete(Identity{Account: "1", LBName: "lb"}, "b-{lb_name}") {
		t.Error("account and lb_name: want complete")
	}
}
