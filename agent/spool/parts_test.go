package spool_test

import (
	"crypto/md5"
	"errors"
	"os"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	. "github.com/elb-access-logger/elb-access-logger/agent/spool"
	"github.com/elb-access-logger/elb-access-logger/agent/spool/spooltest"
)

// wantSums checks that seg's sidecar holds the MD5 of each part of
// partBytes of the segment's file, as read back from the disk.
func wantSums(t *testing.T, seg Segment, partBytes int64) {
	t.Helper()
	c, ok, err := ReadCounts(seg)
	if err != nil || !ok {
		t.Fatalf("ReadCounts: ok %v, err %v", ok, err)
	}
	b, err := os.ReadFile(seg.Path)
	if err != nil {
		t.Fatal(err)
	}
	want := PartSums{PartBytes: partBytes, Bytes: int64(len(b))}
	for off := int64(0); off < int64(len(b)); off += partBytes {
		want.MD5 = append(want.MD5, md5.Sum(b[off:min(off+partBytes, int64(len(b)))]))
	}
	if !reflect.DeepEqual(c.Parts, want) {
		t.Errorf("digests of %s (%d bytes): got %+v, want %+v", seg.Path, len(b), c.Parts, want)
	}
	if !c.Parts.Known(seg.Size) {
		t.Errorf("digests of %s not known for its %d bytes", seg.Path, seg.Size)
	}
}

// wantNoSums checks that seg's sidecar holds no digests.
func wantNoSums(t *testing.T, seg Segment) {
	t.Helper()
	c, _, err := ReadCounts(seg)
	if err != nil {
		t.Fatal(err)
	}
	if c.Parts.PartBytes != 0 || c.Parts.Known(seg.Size) {
		t.Errorf("digests of %s: got %+v, want none", seg.Path, c.Parts)
	}
}

// The spool hashes a window's parts as it writes them, across part
// boundaries inside a write and across flushes, for an upload to send as
// Content-MD5s without reading the file to hash it (issue 20 item 7).
func TestSpoolHashesPartsAsItWrites(t *testing.T) {
	for _, part := range []int64{7, 10, 64, 1 << 20} {
		s := openSpool(t, t.TempDir(), t0.Add(time.Minute), nil)
		s.SetPartBytes(part)
		for i := range 13 {
			appendLines(t, s, strings.Repeat("x", i)) // lines of 1..13 bytes
			if i%4 == 0 {
				s.Flush()
			}
		}
		if err := s.Rotate(t0.Add(5 * time.Minute)); err != nil {
			t.Fatal(err)
		}
		segs, _ := s.Sealed()
		if len(segs) != 1 {
			t.Fatalf("%d segments", len(segs))
		}
		wantSums(t, segs[0], part)
		s.Close()
	}
}

// A window continued after a restart holds lines this run did not write:
// it gets no digests (the uploader hashes it), and the next one does.
func TestSpoolContinuedWindowHasNoSums(t *testing.T) {
	dir := t.TempDir()
	s := openSpool(t, dir, t0.Add(time.Minute), nil)
	s.SetPartBytes(8)
	appendLines(t, s, "before restart")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openSpool(t, dir, t0.Add(2*time.Minute), nil)
	s.SetPartBytes(8)
	appendLines(t, s, "after")
	if err := s.Rotate(t0.Add(5 * time.Minute)); err != nil {
		t.Fatal(err)
	}
	appendLines(t, s, "next window")
	if err := s.Rotate(t0.Add(10 * time.Minute)); err != nil {
		t.Fatal(err)
	}
	segs, _ := s.Sealed()
	if len(segs) != 2 {
		t.Fatalf("%d segments", len(segs))
	}
	wantNoSums(t, segs[0])
	wantSums(t, segs[1], 8)
}

// A part size set or changed while a window has lines: that window gets no
// digests (its first bytes were hashed in other parts, or not at all);
// 0 turns hashing off.
func TestSpoolPartBytesChangedMidWindow(t *testing.T) {
	s := openSpool(t, t.TempDir(), t0.Add(time.Minute), nil)
	s.SetPartBytes(8)
	appendLines(t, s, "first part")
	s.Flush()
	s.SetPartBytes(16)
	appendLines(t, s, "more")
	s.Rotate(t0.Add(5 * time.Minute))
	appendLines(t, s, "hashed in 16")
	s.Rotate(t0.Add(10 * time.Minute))
	s.SetPartBytes(0)
	appendLines(t, s, "not hashed")
	s.Rotate(t0.Add(15 * time.Minute))
	segs, _ := s.Sealed()
	if len(segs) != 3 {
		t.Fatalf("%d segments", len(segs))
	}
	wantNoSums(t, segs[0])
	wantSums(t, segs[1], 16)
	wantNoSums(t, segs[2])
}

// A disk that fills in the middle of a line: the digests are those of the
// whole lines that stayed in the file, never of the bytes cut off.
func TestSpoolFullDiskSumsCoverWhatStayed(t *testing.T) {
	ffs := &spooltest.FaultFS{}
	s := openSpool(t, t.TempDir(), t0.Add(time.Minute), ffs)
	s.SetPartBytes(4)
	appendLines(t, s, "aaaa", "bb")
	s.Sync()
	ffs.Set(syscall.ENOSPC, 5) // "ccccc" reaches the file and is cut off
	s.Append([]byte("cccccccc\n"))
	if err := s.Sync(); !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("Sync on a full disk: got %v, want ENOSPC", err)
	}
	ffs.Set(nil, 0)
	appendLines(t, s, "dd")
	if err := s.Rotate(t0.Add(5 * time.Minute)); err != nil {
		t.Fatal(err)
	}
	wantSealed(t, s, "06:05:00: aaaa\nbb\ncccccccc\ndd\n")
	segs, _ := s.Sealed()
	wantSums(t, segs[0], 4)
}

// Digests round-trip through the sidecar; ones it cannot read are dropped
// without making the counts unreadable.
func TestPartSumsSidecar(t *testing.T) {
	c := WindowCounts{Lines: 3, Parts: PartSums{PartBytes: 4, Bytes: 9, MD5: [][md5.Size]byte{md5.Sum([]byte("a")), md5.Sum([]byte("b")), md5.Sum([]byte("c"))}}}
	got, err := ParseCounts("f", c.Marshal())
	if err != nil || !reflect.DeepEqual(got, c) {
		t.Fatalf("round trip: got %+v, %v; want %+v", got, err, c)
	}
	if !got.Parts.Known(9) || got.Parts.Known(8) || got.Parts.Known(13) {
		t.Errorf("Known: 9 %v, 8 %v, 13 %v; want only 9", got.Parts.Known(9), got.Parts.Known(8), got.Parts.Known(13))
	}
	good := string(c.Marshal())
	for _, bad := range []string{
		strings.Replace(good, "md5-part-bytes=4", "md5-part-bytes=x", 1),
		strings.Replace(good, "md5-part-bytes=4", "md5-part-bytes=-4", 1),
		strings.Replace(good, ",", ",zz", 1),
		strings.Replace(good, ",", "", 1),
		strings.Replace(good, "md5=", "md5=0,", 1),
	} {
		got, err := ParseCounts("f", []byte(bad))
		if err != nil || got.Lines != 3 {
			t.Errorf("%q: counts %+v, %v; want 3 lines, no error", bad, got, err)
		}
		if got.Parts.Known(9) {
			t.Errorf("%q: digests %+v taken as known", bad, got.Parts)
		}
	}
}
