package ship

import (
	"fmt"
	"testing"
	"time"

	"github.com/elb-access-logger/elb-access-logger/agent/identity"
)

func TestUploadOffsetDeterministic(t *testing.T) {
	id := identity.Identity{InstanceID: "i-315dd646", LBName: "my-lb"}
	tests := []struct {
		name   string
		id     identity.Identity
		spread time.Duration
		same   bool // same offset as id at 60s
	}{
		{"same identity", id, time.Minute, true},
		{"other instance", identity.Identity{InstanceID: "i-315dd647", LBName: "my-lb"}, time.Minute, false},
		{"other load balancer", identity.Identity{InstanceID: "i-315dd646", LBName: "my-lb2"}, time.Minute, false},
		{"fields not confused", identity.Identity{InstanceID: "i-315dd646m", LBName: "y-lb"}, time.Minute, false},
	}
	want := Offset(id, time.Minute)
	if want < 0 || want >= time.Minute {
		t.Fatalf("offset %v outside [0, 1m)", want)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Offset(tt.id, tt.spread)
			if got < 0 || got >= tt.spread {
				t.Fatalf("offset %v outside [0, %v)", got, tt.spread)
			}
			if (got == want) != tt.same {
				t.Errorf("offset: got %v, want same as %v: %v", got, want, tt.same)
			}
		})
	}
	for _, spread := range []time.Duration{0, -time.Second} {
		if got := Offset(id, spread); got != 0 {
			t.Errorf("spread %v: got offset %v, want 0", spread, got)
		}
	}
}

// TestUploadOffsetUniform: 12,000 identities of a plausible fleet (1,000
// load balancers of 12 nodes) fall evenly into the 60 seconds of the
// default spread: every second gets 200 ± 30 % (the expected spread of a
// count is ±7 %, so a failure means a bias, not bad luck; the identities
// are fixed, so the test is deterministic).
func TestUploadOffsetUniform(t *testing.T) {
	const lbs, nodes, spread = 1000, 12, 60 * time.Second
	var perSecond [60]int
	for lb := range lbs {
		for n := range nodes {
			id := identity.Identity{InstanceID: fmt.Sprintf("i-%08x", 0x315d0000+lb*nodes+n), LBName: fmt.Sprintf("lb-%d", lb)}
			perSecond[Offset(id, spread)/time.Second]++
		}
	}
	mean := float64(lbs*nodes) / 60
	for s, n := range perSecond {
		if float64(n) < 0.7*mean || float64(n) > 1.3*mean {
			t.Errorf("second %d of the spread: got %d uploads, want %.0f ± 30%%", s, n, mean)
		}
	}
}

func TestUploadDue(t *testing.T) {
	start := time.Date(2026, 11, 25, 6, 0, 30, 0, time.UTC)
	tests := []struct {
		name   string
		end    time.Time
		offset time.Duration
		want   time.Time
	}{
		{"window of this run", start.Add(30 * time.Second), 7 * time.Second, start.Add(37 * time.Second)},
		{"backlog of an earlier run", start.Add(-time.Hour), 7 * time.Second, start.Add(7 * time.Second)},
		{"no spread", start.Add(30 * time.Second), 0, start.Add(30 * time.Second)},
		// Sealed while the clock was an hour ahead (issue 16, item 1).
		{"named in the future", start.Add(time.Hour), 7 * time.Second, start.Add(30 * time.Second)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now := start.Add(30 * time.Second) // the window of this run was just sealed
			if got := Due(tt.end, start, now, tt.offset); !got.Equal(tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}
