package agent

import (
	"crypto/rand"
	"testing"
	"time"

	"github.com/elb-access-logger/elb-access-logger/agent/spool"
)

// Helpers for tests that prepare or inspect a spool directory.

var t0 = time.Date(2026, 11, 25, 6, 0, 0, 0, time.UTC)

// every returns window ends every d on the UTC clock.
func every(d time.Duration) func(time.Time) time.Time {
	return func(t time.Time) time.Time { return t.Truncate(d).Add(d) }
}

func appendLines(t *testing.T, s *spool.Spool, lines ...string) {
	t.Helper()
	for _, l := range lines {
		if err := s.Append([]byte(l + "\n")); err != nil {
			t.Fatalf("Append(%q): %v", l, err)
		}
	}
}

// sealedIn lists the sealed segments of the spool directory dir.
func sealedIn(dir string) []spool.Segment {
	segs, _ := spool.List(dir)
	return segs
}

// testSuffix returns 8 random lowercase letters and digits, for names of
// buckets the tests create.
func testSuffix() string {
	b := make([]byte, 8)
	rand.Read(b) // never fails (crypto/rand)
	const letters = "abcdefghijklmnopqrstuvwxyz0123456789"
	for i := range b {
		b[i] = letters[int(b[i])%len(letters)]
	}
	return string(b)
}
