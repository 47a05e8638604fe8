package spool_test

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"syscall"
	"testing"
	"time"

	. "github.com/elb-access-logger/elb-access-logger/agent/spool"
	"github.com/elb-access-logger/elb-access-logger/agent/spool/spooltest"
)

// A disk that fills up in the middle of a line, with a window end before
// space returns: every delivered line is whole, and each window's counts
// are those of the lines in its segment (issue 16, item 2). Before the fix
// the seal trimmed the half-written head and the tail became a line of
// its own in the next window, while the line was counted in the first.
func TestSpoolFullDiskMidLineNeverSplitsALine(t *testing.T) {
	ffs := &spooltest.FaultFS{}
	s := openSpool(t, t.TempDir(), t0.Add(time.Minute), ffs)
	appendLines(t, s, "aaaa")
	if err := s.Sync(); err != nil {
		t.Fatal(err)
	}
	ffs.Set(syscall.ENOSPC, 5) // the disk takes "bbbbb", then is full
	s.Append([]byte("bbbbbbbb\n"))
	if err := s.Sync(); !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("Sync on a full disk: got %v, want ENOSPC", err)
	}
	if err := s.Rotate(t0.Add(5 * time.Minute)); !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("Rotate on a full disk: got %v, want ENOSPC", err)
	}
	ffs.Set(nil, 0) // space returns
	appendLines(t, s, "cccc")
	if err := s.Rotate(t0.Add(10 * time.Minute)); err != nil {
		t.Fatal(err)
	}
	wantSealed(t, s, "06:05:00: aaaa\n", "06:10:00: bbbbbbbb\ncccc\n")
	segs, _ := s.Sealed()
	got, ok, err := ReadCounts(segs[1])
	if err != nil || !ok {
		t.Fatalf("ReadCounts: ok %v, err %v", ok, err)
	}
	if want := (WindowCounts{Lines: 2}); !reflect.DeepEqual(got, want) {
		t.Errorf("counts of the window the refused line went to: got %+v, want %+v", got, want)
	}
}

// The same without a seal in between: the file never holds part of a
// line, even while the disk is full.
func TestSpoolFullDiskMidLineLeavesOnlyWholeLines(t *testing.T) {
	ffs := &spooltest.FaultFS{}
	dir := t.TempDir()
	s := openSpool(t, dir, t0.Add(time.Minute), ffs)
	appendLines(t, s, "aaaa")
	s.Sync()
	ffs.Set(syscall.ENOSPC, 7) // "bbbbbbbb\n" is cut after 7 bytes
	s.Append([]byte("bbbbbbbb\n"))
	s.Flush()
	active, _ := filepath.Glob(filepath.Join(dir, "*"+ActiveSuffix))
	if len(active) != 1 {
		t.Fatalf("active files: %v", active)
	}
	if b, _ := os.ReadFile(active[0]); string(b) != "aaaa\n" {
		t.Fatalf("active file on a full disk: got %q, want %q", b, "aaaa\n")
	}
}

// Eviction listing the directory between an upload's delete and its count
// update must not subtract the segment twice (issue 16, item 4): the
// spool's byte count has one owner.
func TestSpoolByteCountOneOwner(t *testing.T) {
	ffs := &spooltest.FaultFS{}
	s := openSpool(t, t.TempDir(), t0.Add(time.Minute), ffs)
	for i := 1; i <= 3; i++ {
		appendLines(t, s, "xxxxxxxxx") // 10 bytes
		if err := s.Rotate(t0.Add(time.Duration(i*5) * time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	segs, _ := s.Sealed()
	evicted := make(chan struct{})
	ffs.OnRemove(func(name string) {
		if name != segs[0].Path {
			return
		}
		ffs.OnRemove(nil)
		// The upload's file is gone: an eviction runs now. Over the
		// bound, it lists the directory; every segment is busy.
		go func() {
			defer close(evicted)
			s.Evict(1, func(Segment) bool { return true })
		}()
		select {
		case <-evicted: // before the fix it ran to its end here
		case <-time.After(200 * time.Millisecond):
		}
	})
	if err := s.Remove(segs[0]); err != nil {
		t.Fatal(err)
	}
	<-evicted
	if got := s.Bytes(); got != 20 {
		t.Errorf("spool bytes after an upload's remove raced an eviction: got %d, want 20", got)
	}
}

// Two agents on one spool: the second Open is refused before it changes
// anything (issue 16, item 20), and works once the first closed it.
func TestSpoolSecondOpenRefusedTouchingNothing(t *testing.T) {
	dir := t.TempDir()
	s := openSpool(t, dir, t0.Add(time.Minute), nil)
	appendLines(t, s, "first")
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	// A write of the first agent in progress, and a window of an
	// earlier run that a second Open would seal.
	inProgress := filepath.Join(dir, ".elb-api-state.json-abcdefgh.tmp")
	old := filepath.Join(dir, NamePrefix+t0.Add(-5*time.Minute).Format(EndLayout)+ActiveSuffix)
	for _, p := range []string{inProgress, old} {
		if err := os.WriteFile(p, []byte("x\n"), 0o640); err != nil {
			t.Fatal(err)
		}
	}
	before := spooltest.Listing(t, dir)
	_, err := Open(dir, every(5*time.Minute), t0.Add(2*time.Minute), nil)
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("second Open: got %v, want ErrLocked", err)
	}
	if after := spooltest.Listing(t, dir); after != before {
		t.Fatalf("the refused Open changed the directory:\nbefore\n%s\nafter\n%s", before, after)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openSpool(t, dir, t0.Add(2*time.Minute), nil)
	defer s.Close()
	if _, err := os.Stat(inProgress); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("temporary file of an interrupted write after a real Open: got %v, want removed", err)
	}
}

func TestWriteFileAtomic(t *testing.T) {
	dir := t.TempDir()
	for _, content := range []string{"first", "second"} {
		if err := WriteFileAtomic(nil, dir, "state.json", []byte(content)); err != nil {
			t.Fatal(err)
		}
		got, err := ReadFile(nil, dir, "state.json")
		if err != nil || string(got) != content {
			t.Errorf("content: got %q (%v), want %q", got, err, content)
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("directory: got %d entries, want only state.json (no temp file left)", len(entries))
	}
	if err := WriteFileAtomic(nil, filepath.Join(dir, "missing"), "x", nil); err == nil {
		t.Error("write into a missing directory: got nil error")
	}
	if _, err := ReadFile(nil, dir, "missing"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("ReadFile of a missing file: got %v, want ErrNotExist", err)
	}
	// A full disk leaves the old content and no temporary file.
	ffs := &spooltest.FaultFS{}
	ffs.Set(syscall.ENOSPC, 2)
	if err := WriteFileAtomic(ffs, dir, "state.json", []byte("third")); !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("write on a full disk: got %v, want ENOSPC", err)
	}
	if got, _ := ReadFile(nil, dir, "state.json"); string(got) != "second" {
		t.Errorf("after a failed write: got %q, want the old content", got)
	}
}

// Windows sealed while the clock was an hour ahead, then a restart with
// the clock right (issue 16, item 1): the window ends on the schedule after
// now, not an hour later, under a key past every earlier one; the step is
// counted once.
func TestSpoolClockStepBackSealsAtNextEndAfterNow(t *testing.T) {
	dir := t.TempDir()
	ahead := t0.Add(time.Hour)
	s := openSpool(t, dir, ahead.Add(time.Minute), nil)
	appendLines(t, s, "while-ahead")
	if err := s.Rotate(ahead.Add(5 * time.Minute)); err != nil {
		t.Fatal(err)
	}
	s.Close()

	s = openSpool(t, dir, t0.Add(time.Minute), nil) // the clock stepped back an hour
	defer s.Close()
	if got, want := s.End(), t0.Add(5*time.Minute); !got.Equal(want) {
		t.Fatalf("End after the step: got %s, want %s (the schedule after now)", got.Format("15:04:05"), want.Format("15:04:05"))
	}
	appendLines(t, s, "after-step")
	if err := s.Rotate(t0.Add(5 * time.Minute)); err != nil {
		t.Fatal(err)
	}
	if got, want := s.End(), t0.Add(10*time.Minute); !got.Equal(want) {
		t.Errorf("End after the next seal: got %s, want %s", got.Format("15:04:05"), want.Format("15:04:05"))
	}
	// Keys stay strictly increasing: the window sealed after the step
	// goes past the one sealed while the clock was ahead.
	wantSealed(t, s, "07:05:00: while-ahead\n", "07:05:01: after-step\n")
	if got := s.Stats().ClockSteps; got != 1 {
		t.Errorf("ClockSteps: got %d, want 1", got)
	}
}
