package spool_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	. "github.com/elb-access-logger/elb-access-logger/agent/spool"
	"github.com/elb-access-logger/elb-access-logger/agent/spool/spooltest"
)

// every returns window ends every d on the UTC clock.
func every(d time.Duration) func(time.Time) time.Time {
	return func(t time.Time) time.Time { return t.Truncate(d).Add(d) }
}

var t0 = time.Date(2026, 11, 25, 6, 0, 0, 0, time.UTC)

func openSpool(t *testing.T, dir string, now time.Time, fsys FS) *Spool {
	t.Helper()
	s, err := Open(dir, every(5*time.Minute), now, fsys)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.RecoverErr(); err != nil {
		t.Fatalf("RecoverErr: %v", err)
	}
	return s
}

func appendLines(t *testing.T, s *Spool, lines ...string) {
	t.Helper()
	for _, l := range lines {
		if err := s.Append([]byte(l + "\n")); err != nil {
			t.Fatalf("Append(%q): %v", l, err)
		}
	}
}

func readSegment(t *testing.T, seg Segment) string {
	t.Helper()
	b, err := os.ReadFile(seg.Path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// sealed returns the sealed segments as "END: content" strings.
func sealed(t *testing.T, s *Spool) []string {
	t.Helper()
	segs, err := s.Sealed()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, seg := range segs {
		if len(seg.Rand) != RandLen {
			t.Errorf("segment %s: random suffix %q, want %d characters", seg.Path, seg.Rand, RandLen)
		}
		out = append(out, seg.End.Format("15:04:05")+": "+readSegment(t, seg))
	}
	return out
}

func wantSealed(t *testing.T, s *Spool, want ...string) {
	t.Helper()
	if got := sealed(t, s); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("sealed segments:\n got %q\nwant %q", got, want)
	}
}

func TestSpoolRotateSealsWindow(t *testing.T) {
	s := openSpool(t, t.TempDir(), t0.Add(time.Minute), nil)
	if got, want := s.End(), t0.Add(5*time.Minute); !got.Equal(want) {
		t.Fatalf("End: got %v, want %v", got, want)
	}
	appendLines(t, s, "a", "b")
	wantSealed(t, s)
	if err := s.Rotate(t0.Add(5 * time.Minute)); err != nil {
		t.Fatal(err)
	}
	if got, want := s.End(), t0.Add(10*time.Minute); !got.Equal(want) {
		t.Fatalf("End after rotate: got %v, want %v", got, want)
	}
	// An empty window is not sealed.
	if err := s.Rotate(t0.Add(10 * time.Minute)); err != nil {
		t.Fatal(err)
	}
	wantSealed(t, s, "06:05:00: a\nb\n")
	segs, _ := s.Sealed()
	if err := s.Remove(segs[0]); err != nil {
		t.Fatal(err)
	}
	wantSealed(t, s)
	if got := s.Stats().Sealed; got != 1 {
		t.Errorf("Stats().Sealed: got %d, want 1", got)
	}
}

func TestSpoolLateLinesGoToNextWindow(t *testing.T) {
	s := openSpool(t, t.TempDir(), t0.Add(time.Minute), nil)
	appendLines(t, s, "in-window")
	// The timer fired late: the rotation happens at 06:05:02.
	if err := s.Rotate(t0.Add(5*time.Minute + 2*time.Second)); err != nil {
		t.Fatal(err)
	}
	appendLines(t, s, "late")
	if err := s.Rotate(t0.Add(10 * time.Minute)); err != nil {
		t.Fatal(err)
	}
	wantSealed(t, s, "06:05:00: in-window\n", "06:10:00: late\n")
}

func TestSpoolRecoversActiveFiles(t *testing.T) {
	tests := []struct {
		name   string
		files  map[string]string // active files left by a crash, by window end
		now    time.Time
		then   []string // lines appended after the restart
		want   []string // sealed after the next rotation
		trimed int64
	}{
		{
			name:  "old window sealed under its own end, current one continued",
			files: map[string]string{"06:05": "old\n", "06:15": "cur1\n"},
			now:   t0.Add(12 * time.Minute),
			then:  []string{"cur2"},
			want:  []string{"06:05:00: old\n", "06:15:00: cur1\ncur2\n"},
		},
		{
			name:   "torn last line trimmed",
			files:  map[string]string{"06:15": "whole\ntor"},
			now:    t0.Add(12 * time.Minute),
			then:   []string{"next"},
			want:   []string{"06:15:00: whole\nnext\n"},
			trimed: 3,
		},
		{
			name:  "empty active file removed",
			files: map[string]string{"06:05": ""},
			now:   t0.Add(12 * time.Minute),
			want:  nil,
		},
		{
			name:   "only a torn line: nothing sealed",
			files:  map[string]string{"06:05": "tor"},
			now:    t0.Add(12 * time.Minute),
			want:   nil,
			trimed: 3,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			for hhmm, content := range tt.files {
				end, _ := time.Parse("2006-01-02 15:04", "2026-11-25 "+hhmm)
				if err := os.WriteFile(filepath.Join(dir, NamePrefix+end.Format(EndLayout)+ActiveSuffix), []byte(content), 0o640); err != nil {
					t.Fatal(err)
				}
			}
			s := openSpool(t, dir, tt.now, nil)
			appendLines(t, s, tt.then...)
			if err := s.Rotate(s.End()); err != nil {
				t.Fatal(err)
			}
			wantSealed(t, s, tt.want...)
			if got := s.Stats().TrimmedBytes; got != tt.trimed {
				t.Errorf("TrimmedBytes: got %d, want %d", got, tt.trimed)
			}
		})
	}
}

// A clean shutdown seals the window early; a restart within the same
// window must never produce a second object under the same key, even after
// the first was uploaded and removed from the spool.
func TestSpoolEarlySealThenRestartNeverReusesKey(t *testing.T) {
	dir := t.TempDir()
	stop1 := t0.Add(2*time.Minute + 30*time.Second + 400*time.Millisecond)
	s := openSpool(t, dir, t0.Add(time.Minute), nil)
	appendLines(t, s, "before-stop")
	if err := s.SealEarly(stop1); err != nil {
		t.Fatal(err)
	}
	s.Close()
	wantSealed(t, s, "06:02:30: before-stop\n")
	segs, _ := s.Sealed()
	s.Remove(segs[0]) // uploaded

	// Restart in the same second, stop again: the key moves on by a second.
	s = openSpool(t, dir, stop1.Add(100*time.Millisecond), nil)
	appendLines(t, s, "second-run")
	if err := s.SealEarly(stop1.Add(200 * time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	s.Close()
	wantSealed(t, s, "06:02:31: second-run\n")
	segs, _ = s.Sealed()
	s.Remove(segs[0])

	// A third run reaches the window end: the full window key is free.
	s = openSpool(t, dir, stop1.Add(time.Second), nil)
	if got, want := s.End(), t0.Add(5*time.Minute); !got.Equal(want) {
		t.Fatalf("End: got %v, want %v", got, want)
	}
	appendLines(t, s, "third-run")
	if err := s.Rotate(t0.Add(5 * time.Minute)); err != nil {
		t.Fatal(err)
	}
	wantSealed(t, s, "06:05:00: third-run\n")
}

func TestSpoolEarlySealAtWindowEndMovesToNextWindow(t *testing.T) {
	dir := t.TempDir()
	s := openSpool(t, dir, t0.Add(time.Minute), nil)
	appendLines(t, s, "a")
	// Stopped in the window's last second, twice.
	last := t0.Add(5*time.Minute - 300*time.Millisecond)
	if err := s.SealEarly(last); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = openSpool(t, dir, last.Add(100*time.Millisecond), nil)
	appendLines(t, s, "b")
	if err := s.SealEarly(last.Add(200 * time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	s.Close()
	// The key of the whole window (06:05:00) is now used: a restart before
	// 06:05 spools into the next window.
	s = openSpool(t, dir, last.Add(250*time.Millisecond), nil)
	if got, want := s.End(), t0.Add(10*time.Minute); !got.Equal(want) {
		t.Fatalf("End after the window key was used: got %v, want %v", got, want)
	}
	appendLines(t, s, "c")
	s.Rotate(t0.Add(10 * time.Minute))
	wantSealed(t, s, "06:04:59: a\n", "06:05:00: b\n", "06:10:00: c\n")
}

func TestSpoolDiskFullIsReportedAndRecovers(t *testing.T) {
	tests := []struct {
		name    string
		partial int  // bytes a failing write takes
		opened  bool // the active file exists before the disk fills
	}{
		{"full before the window's file exists", 0, false},
		{"full with the file open", 0, true},
		{"full in the middle of a write", 5, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ffs := &spooltest.FaultFS{}
			s := openSpool(t, t.TempDir(), t0.Add(time.Minute), ffs)
			if tt.opened {
				appendLines(t, s, "first")
				if err := s.Sync(); err != nil {
					t.Fatal(err)
				}
			}
			ffs.Set(syscall.ENOSPC, tt.partial)
			s.Append([]byte("during-1\n"))
			s.Append([]byte("during-2\n"))
			err := s.Sync()
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("Sync on a full disk: got %v, want ENOSPC", err)
			}
			if got := s.Stats().WriteErrors; got == 0 {
				t.Fatal("WriteErrors not counted")
			}
			ffs.Set(nil, 0) // space returns
			appendLines(t, s, "after")
			if err := s.Sync(); err != nil {
				t.Fatalf("Sync after space returned: %v", err)
			}
			if err := s.Rotate(t0.Add(5 * time.Minute)); err != nil {
				t.Fatal(err)
			}
			want := "during-1\nduring-2\nafter\n"
			if tt.opened {
				want = "first\n" + want
			}
			wantSealed(t, s, "06:05:00: "+want)
		})
	}
}

func TestSpoolSealOnFullDiskKeepsLines(t *testing.T) {
	ffs := &spooltest.FaultFS{}
	s := openSpool(t, t.TempDir(), t0.Add(time.Minute), ffs)
	appendLines(t, s, "a")
	s.Sync()
	ffs.Set(syscall.ENOSPC, 0)
	s.Append([]byte("b\n"))
	if err := s.Rotate(t0.Add(5 * time.Minute)); !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("Rotate on a full disk: got %v, want ENOSPC", err)
	}
	ffs.Set(nil, 0)
	appendLines(t, s, "c")
	if err := s.Rotate(t0.Add(10 * time.Minute)); err != nil {
		t.Fatal(err)
	}
	// What reached the disk was sealed in its window; the line the disk
	// refused went with the next window; none was lost.
	wantSealed(t, s, "06:05:00: a\n", "06:10:00: b\nc\n")
}

func TestSpoolBufferBoundDropsAndCounts(t *testing.T) {
	ffs := &spooltest.FaultFS{}
	s := openSpool(t, t.TempDir(), t0.Add(time.Minute), ffs)
	SetMaxBuffer(s, 10)
	ffs.Set(syscall.ENOSPC, 0)
	if err := s.Append([]byte("12345678\n")); err != nil {
		t.Fatalf("first line: %v", err)
	}
	if err := s.Append([]byte("x\n")); !errors.Is(err, ErrBufferFull) {
		t.Fatalf("over the bound: got %v, want ErrBufferFull", err)
	}
	if got := s.Stats().DroppedLines; got != 1 {
		t.Errorf("DroppedLines: got %d, want 1", got)
	}
}

func TestSpoolTryAppendRefusesWithoutCounting(t *testing.T) {
	ffs := &spooltest.FaultFS{}
	s := openSpool(t, t.TempDir(), t0.Add(time.Minute), ffs)
	SetMaxBuffer(s, 10)
	ffs.Set(syscall.ENOSPC, 0)
	if err := s.TryAppendCounted([]byte("12345678\n"), false, false); err != nil {
		t.Fatalf("first line: %v", err)
	}
	if err := s.TryAppendCounted([]byte("x\n"), true, false); !errors.Is(err, ErrBufferFull) {
		t.Fatalf("over the bound: got %v, want ErrBufferFull", err)
	}
	if got := s.Stats().DroppedLines; got != 0 {
		t.Errorf("DroppedLines after a refusal: got %d, want 0", got)
	}
	// Space returns: the next Sync empties the buffer and the held line
	// is taken, once.
	ffs.Set(nil, 0)
	if err := s.Sync(); err != nil {
		t.Fatal(err)
	}
	if err := s.TryAppendCounted([]byte("x\n"), true, false); err != nil {
		t.Fatalf("after space returned: %v", err)
	}
	if err := s.Rotate(t0.Add(5 * time.Minute)); err != nil {
		t.Fatal(err)
	}
	wantSealed(t, s, "06:05:00: 12345678\nx\n")
	segs, err := s.Sealed()
	if err != nil || len(segs) != 1 {
		t.Fatalf("Sealed: %v %v", segs, err)
	}
	if c, ok, err := ReadCounts(segs[0]); err != nil || !ok || c.Lines != 2 || c.Unparsed != 1 {
		t.Errorf("counts: %+v %v %v, want 2 lines, 1 unparsed (each line once)", c, ok, err)
	}
	if st := s.Stats(); st.DroppedLines != 0 {
		t.Errorf("DroppedLines: got %d, want 0", st.DroppedLines)
	}
}

func TestSpoolEvictOldestFirst(t *testing.T) {
	tests := []struct {
		name    string
		max     int64
		busy    string // window end of a segment being uploaded
		evicted []string
	}{
		{"under the bound", 100, "", nil},
		{"oldest one", 25, "", []string{"06:05:00"}},
		{"oldest two", 15, "", []string{"06:05:00", "06:10:00"}},
		{"busy segment skipped", 15, "06:05:00", []string{"06:10:00", "06:15:00"}},
		{"all", 0, "", []string{"06:05:00", "06:10:00", "06:15:00"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := openSpool(t, t.TempDir(), t0.Add(time.Minute), nil)
			for i := 1; i <= 3; i++ {
				appendLines(t, s, strings.Repeat("x", 9)) // 10 bytes
				s.Rotate(t0.Add(time.Duration(i*5) * time.Minute))
			}
			ev, err := s.Evict(tt.max, func(seg Segment) bool { return seg.End.Format("15:04:05") == tt.busy })
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, seg := range ev {
				got = append(got, seg.End.Format("15:04:05"))
			}
			if strings.Join(got, ",") != strings.Join(tt.evicted, ",") {
				t.Fatalf("evicted: got %v, want %v", got, tt.evicted)
			}
			st := s.Stats()
			if st.Evicted != int64(len(tt.evicted)) || st.EvictedBytes != int64(10*len(tt.evicted)) {
				t.Errorf("stats: got %d segments %d bytes, want %d, %d", st.Evicted, st.EvictedBytes, len(tt.evicted), 10*len(tt.evicted))
			}
			if left, _ := s.Sealed(); len(left) != 3-len(tt.evicted) {
				t.Errorf("left in the spool: %d segments, want %d", len(left), 3-len(tt.evicted))
			}
		})
	}
}

func TestParseSealedRejectsForeignNames(t *testing.T) {
	tests := []struct {
		name string
		ok   bool
	}{
		{"window-20261125T060500Z-abcd1234.log", true},
		{"window-20261125T060500Z.log", false},
		{"window-20261125T060500Z-abc.log", false},
		{"window-2026-abcd1234.log", false},
		{"other-20261125T060500Z-abcd1234.log", false},
		{"window-20261125T060500Z.active", false},
	}
	for _, tt := range tests {
		if _, _, ok := ParseSealed(tt.name); ok != tt.ok {
			t.Errorf("ParseSealed(%q): got ok=%v, want %v", tt.name, ok, tt.ok)
		}
	}
}

func TestSpoolEvictCountsSegmentsOfEarlierRuns(t *testing.T) {
	dir := t.TempDir()
	s := openSpool(t, dir, t0.Add(time.Minute), nil)
	for i := 1; i <= 3; i++ {
		appendLines(t, s, strings.Repeat("x", 9)) // 10 bytes
		s.Rotate(t0.Add(time.Duration(i*5) * time.Minute))
	}
	s.Close()
	s = openSpool(t, dir, t0.Add(16*time.Minute), nil)
	ev, err := s.Evict(15, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(ev) != 2 || !ev[0].End.Equal(t0.Add(5*time.Minute)) {
		t.Fatalf("evicted after a restart: got %+v, want the two oldest", ev)
	}
	if ev, _ := s.Evict(15, nil); len(ev) != 0 {
		t.Fatalf("evicted again under the bound: %+v", ev)
	}
}
