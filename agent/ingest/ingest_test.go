package ingest

import (
	"context"
	"fmt"
	"net"
	"sync"
	"testing"

	"github.com/elb-access-logger/elb-access-logger/internal/testbed"
)

// countSink counts the lines appended.
type countSink struct {
	mu    sync.Mutex
	lines int
}

func (s *countSink) AppendCounted([]byte, bool, bool) error {
	s.mu.Lock()
	s.lines++
	s.mu.Unlock()
	return nil
}

func (s *countSink) n() int { s.mu.Lock(); defer s.mu.Unlock(); return s.lines }

func sendTo(t *testing.T, addr string) {
	t.Helper()
	c, err := net.Dial("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write([]byte(sampleLine)); err != nil {
		t.Fatal(err)
	}
}

// TestRebindKeepsSocketsOfKeptAddresses: an address still wanted keeps
// its socket, a dropped one is released, a new one is served; a failing
// rebind changes nothing.
func TestRebindKeepsSocketsOfKeptAddresses(t *testing.T) {
	sink := &countSink{}
	in, err := New(sink, Options{Format: "raw", Enabled: true})
	if err != nil {
		t.Fatal(err)
	}
	a := fmt.Sprintf("udp://127.0.0.1:%d", testbed.FreeUDPPort(t))
	b := fmt.Sprintf("udp://127.0.0.1:%d", testbed.FreeUDPPort(t))
	c := fmt.Sprintf("udp://127.0.0.1:%d", testbed.FreeUDPPort(t))
	if err := in.Bind([]string{a, b}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer func() { cancel(); in.Wait(); in.Close() }()
	in.Serve(ctx)
	before := in.bound()[0]
	if err := in.Rebind([]string{a, c}); err != nil {
		t.Fatal(err)
	}
	if got := in.bound(); len(got) != 2 || got[0] != before {
		t.Fatalf("after rebind: %v, want the socket of %s kept first", got, a)
	}
	sendTo(t, a[len("udp://"):])
	sendTo(t, c[len("udp://"):])
	testbed.WaitFor(t, "a line through the kept and the new listener", func() bool { return sink.n() == 2 })
	testbed.WaitFor(t, "the dropped address released", func() bool {
		l, err := net.ListenPacket("udp", b[len("udp://"):])
		if err != nil {
			return false
		}
		l.Close()
		return true
	})
	// An address that cannot be bound: nothing changes.
	if err := in.Rebind([]string{a, "udp://203.0.113.1:9"}); err == nil {
		t.Fatal("rebind to an address not of this host: want an error")
	}
	if in.Bound() != 2 {
		t.Errorf("after a failed rebind: %d listeners, want 2", in.Bound())
	}
}

// TestSettersChangeTheOutput: SetEnabled(false) stops writing lines and an
// unknown format is refused without a change.
func TestSettersChangeTheOutput(t *testing.T) {
	sink := &countSink{}
	in, err := New(sink, Options{Format: "raw", Enabled: true})
	if err != nil {
		t.Fatal(err)
	}
	in.Ingest([]byte(sampleLine))
	in.SetEnabled(false)
	in.Ingest([]byte(sampleLine))
	if sink.n() != 1 {
		t.Errorf("lines while disabled: got %d in all, want 1", sink.n())
	}
	if err := in.SetFormat("xml"); err == nil {
		t.Error("unknown format: want an error")
	}
	if err := in.SetFormat("json"); err != nil {
		t.Errorf("json: %v", err)
	}
}
