package spool_test

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	. "github.com/elb-access-logger/elb-access-logger/agent/spool"
)

// A window that outgrows the piece size is sealed in pieces while open,
// each named by the second it was cut and counted on its own; the window
// goes on under its scheduled end, and its seal takes the rest. Every line
// is in exactly one segment, in order.
func TestSealPieceCutsTheOpenWindow(t *testing.T) {
	s := openSpool(t, t.TempDir(), t0.Add(time.Minute), nil)
	defer s.Close()
	end := s.End()
	s.SetPieceBytes(20)
	if cut, err := s.SealPiece(t0.Add(70 * time.Second)); cut || err != nil {
		t.Fatalf("SealPiece of an empty window: %v, %v; want false, nil", cut, err)
	}
	appendLines(t, s, "aaaa", "bbbb", "cccc") // 15 bytes: under the piece size
	if cut, _ := s.SealPiece(t0.Add(70 * time.Second)); cut {
		t.Fatal("a piece was cut under the piece size")
	}
	appendLines(t, s, "dddd")
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-s.Full():
	default:
		t.Fatal("Full not signalled once the active file held the piece size")
	}
	if cut, err := s.SealPiece(t0.Add(70 * time.Second)); !cut || err != nil {
		t.Fatalf("SealPiece at 20 bytes: %v, %v; want a piece", cut, err)
	}
	if !s.End().Equal(end) {
		t.Fatalf("window end moved from %v to %v by a piece", end, s.End())
	}
	// A second piece within the same second would reuse its key: not cut.
	appendLines(t, s, "eeee", "ffff", "gggg", "hhhh", "iiii")
	if cut, _ := s.SealPiece(t0.Add(70*time.Second + 500*time.Millisecond)); cut {
		t.Fatal("two pieces cut within one second")
	}
	if cut, err := s.SealPiece(t0.Add(71 * time.Second)); !cut || err != nil {
		t.Fatalf("SealPiece a second later: %v, %v; want a piece", cut, err)
	}
	appendLines(t, s, "jjjj")
	if err := s.Rotate(end); err != nil {
		t.Fatal(err)
	}
	wantSealed(t, s,
		"06:01:10: aaaa\nbbbb\ncccc\ndddd\n",
		"06:01:11: eeee\nffff\ngggg\nhhhh\niiii\n",
		"06:05:00: jjjj\n")
	segs, _ := s.Sealed()
	for i, want := range []int64{4, 5, 1} {
		if c, ok, err := ReadCounts(segs[i]); !ok || err != nil || c.Lines != want {
			t.Errorf("segment %d counts: %+v (known %v, %v); want %d lines", i, c, ok, err, want)
		}
	}
	if st := s.Stats(); st.Pieces != 2 || st.Sealed != 3 {
		t.Errorf("stats: %d pieces, %d sealed; want 2 and 3", st.Pieces, st.Sealed)
	}
}

// A piece is never cut at or after the window's end: the window's own
// seal takes the lines under the window's key.
func TestSealPieceNotAtTheWindowEnd(t *testing.T) {
	s := openSpool(t, t.TempDir(), t0.Add(time.Minute), nil)
	defer s.Close()
	s.SetPieceBytes(1)
	appendLines(t, s, "late")
	if cut, _ := s.SealPiece(s.End()); cut {
		t.Fatal("a piece was cut under the window's own key")
	}
	if err := s.Rotate(s.End()); err != nil {
		t.Fatal(err)
	}
	wantSealed(t, s, "06:05:00: late\n")
}

// PieceBytes is the object bound, at most a quarter of the spool's bound,
// never below MinPieceBytes; 0 never cuts.
func TestPieceBytes(t *testing.T) {
	for _, tt := range []struct{ obj, spool, want int64 }{
		{128 << 20, 1 << 30, 128 << 20},
		{128 << 20, 24 << 20, 6 << 20},
		{128 << 20, 0, 128 << 20},
		{1 << 20, 1 << 10, MinPieceBytes},
		{0, 1 << 30, 0},
	} {
		if got := PieceBytes(tt.obj, tt.spool); got != tt.want {
			t.Errorf("PieceBytes(%d, %d) = %d, want %d", tt.obj, tt.spool, got, tt.want)
		}
	}
}

// With the store down (nothing uploads), a stream much larger than the
// spool's bound is cut into pieces, the oldest are evicted, and the spool
// never holds more than its bound plus about one piece: the window is
// never evicted whole at its seal.
func TestClockPiecesKeepTheSpoolBound(t *testing.T) {
	s, err := Open(t.TempDir(), every(time.Hour), time.Now(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	const maxBytes = 4 * MinPieceBytes
	c := NewClock(s, 10*time.Millisecond, maxBytes, slog.New(slog.NewTextHandler(io.Discard, nil)), ClockHooks{})
	c.SetObjectBytes(MinPieceBytes)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); c.Run(ctx) }()
	defer cancel()

	line := strings.Repeat("x", 1023) + "\n"
	var peak int64
	deadline := time.Now().Add(30 * time.Second)
	for i := 0; ; i++ {
		if err := s.Append([]byte(line)); err != nil {
			t.Fatalf("append %d: %v", i, err)
		}
		if b := s.Bytes(); b > peak {
			peak = b
		}
		time.Sleep(15 * time.Millisecond) // ~64 KiB/s: a piece takes about a second (one a second at most)
		if st := s.Stats(); st.Pieces >= 4 && st.Evicted >= 1 {
			break
		}
		if time.Now().After(deadline) {
			st := s.Stats()
			t.Fatalf("after 30 s: %d pieces, %d evicted; want >= 4 and >= 1", st.Pieces, st.Evicted)
		}
	}
	// The bound, plus what is written between two clock ticks and the
	// piece that waits for its second.
	if limit := int64(maxBytes + 2*MinPieceBytes); peak > limit {
		t.Errorf("spool peaked at %d bytes, bound %d (+ one piece + slack = %d)", peak, maxBytes, limit)
	}
	segs, _ := s.Sealed()
	for _, seg := range segs {
		if seg.Size > 2*MinPieceBytes {
			t.Errorf("segment %s holds %d bytes, over twice the piece size %d", seg.Path, seg.Size, MinPieceBytes)
		}
	}
	if st := s.Stats(); st.EvictedLines == 0 {
		t.Errorf("evicted lines not counted: %+v", st)
	}
	// The next segment sealed says how many lines were evicted while it
	// was open (x-amz-meta-spool-evicted).
	cancel()
	<-done
	if err := s.SealEarly(time.Now()); err != nil {
		t.Fatal(err)
	}
	segs, _ = s.Sealed()
	last := segs[len(segs)-1]
	counts, ok, err := ReadCounts(last)
	if !ok || err != nil || counts.SpoolEvicted == 0 || counts.SpoolEvicted > s.Stats().EvictedLines {
		t.Errorf("counts of the segment sealed after evictions: %+v (%v, %v); want spool-evicted in 1..%d", counts, ok, err, s.Stats().EvictedLines)
	}
}
