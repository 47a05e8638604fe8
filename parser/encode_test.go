package parser

import (
	"fmt"
	"math"
	"testing"
	"time"
)

// TestAppendNumbers checks the digit writers against fmt at the edges of
// their fast paths.
func TestAppendNumbers(t *testing.T) {
	for _, width := range []int{1, 2, 3, 4, 6} {
		for _, n := range []int{-5, 0, 1, 9, 10, 99, 100, 999, 1000, 9999, 10000, 99999, 100000, 999999, 1000000, 123456789} {
			want := fmt.Sprintf("%0*d", width, max(n, 0))
			if got := string(appendPad(nil, n, width)); got != want {
				t.Errorf("appendPad(%d, %d): got %q, want %q", n, width, got, want)
			}
		}
	}
	for _, n := range []int64{-1000, -1, 0, 7, 1 << 40, math.MaxInt64} {
		if got, want := string(appendInt(nil, n)), fmt.Sprint(n); got != want {
			t.Errorf("appendInt(%d): got %q, want %q", n, got, want)
		}
	}
	for _, us := range []int{-1, 0, 73, 999999, 1000000, 1048000, 123456789012} {
		want := "-1"
		if us >= 0 {
			want = fmt.Sprintf("%d.%06d", us/1000000, us%1000000)
		}
		if got := string(appendSeconds(nil, us)); got != want {
			t.Errorf("appendSeconds(%d): got %q, want %q", us, got, want)
		}
	}
	for _, tm := range []time.Time{
		time.Date(2015, 5, 13, 23, 39, 43, 945958000, time.UTC),
		time.Date(2026, 1, 2, 3, 4, 5, 6000, time.FixedZone("x", 3600)),
		time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(36812, 2, 20, 0, 0, 0, 0, time.UTC),
	} {
		want := tm.UTC().Format("2006-01-02T15:04:05.000000Z")
		if got := string(appendTime(nil, tm)); got != want {
			t.Errorf("appendTime(%v): got %q, want %q", tm, got, want)
		}
	}
}
