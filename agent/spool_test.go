package agent

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func readSegment(t *testing.T, seg Segment) string {
	t.Helper()
	b, err := os.ReadFile(seg.Path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestSpoolRotateSealsWindow(t *testing.T) {
	dir := t.TempDir()
	end1 := time.Date(2026, 11, 25, 6, 5, 0, 0, time.UTC)
	end2 := end1.Add(5 * time.Minute)
	s, err := OpenSpool(dir, end1)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range []string{"a\n", "b\n"} {
		if err := s.Append([]byte(l)); err != nil {
			t.Fatal(err)
		}
	}
	if segs, _ := s.Sealed(); len(segs) != 0 {
		t.Fatalf("sealed before rotate: %v", segs)
	}
	if err := s.Rotate(end2); err != nil {
		t.Fatal(err)
	}
	// An empty window is not sealed.
	if err := s.Rotate(end2.Add(5 * time.Minute)); err != nil {
		t.Fatal(err)
	}
	segs, err := s.Sealed()
	if err != nil {
		t.Fatal(err)
	}
	if len(segs) != 1 || !segs[0].End.Equal(end1) || readSegment(t, segs[0]) != "a\nb\n" {
		t.Fatalf("sealed: got %+v", segs)
	}
	if err := s.Remove(segs[0]); err != nil {
		t.Fatal(err)
	}
	if segs, _ := s.Sealed(); len(segs) != 0 {
		t.Fatalf("after remove: %v", segs)
	}
}

func TestSpoolRecoversActiveFiles(t *testing.T) {
	dir := t.TempDir()
	old := time.Date(2026, 11, 25, 6, 5, 0, 0, time.UTC)
	cur := old.Add(10 * time.Minute)
	// A crash left the active files of an old window and of the current one.
	for end, content := range map[time.Time]string{old: "old\n", cur: "cur1\n"} {
		name := filepath.Join(dir, namePrefix+end.Format(endLayout)+activeSuffix)
		if err := os.WriteFile(name, []byte(content), 0o640); err != nil {
			t.Fatal(err)
		}
	}
	s, err := OpenSpool(dir, cur)
	if err != nil {
		t.Fatal(err)
	}
	segs, _ := s.Sealed()
	if len(segs) != 1 || !segs[0].End.Equal(old) || readSegment(t, segs[0]) != "old\n" {
		t.Fatalf("old window not sealed under its own end: %+v", segs)
	}
	if err := s.Append([]byte("cur2\n")); err != nil {
		t.Fatal(err)
	}
	if err := s.Rotate(cur.Add(5 * time.Minute)); err != nil {
		t.Fatal(err)
	}
	segs, _ = s.Sealed()
	if len(segs) != 2 || !segs[1].End.Equal(cur) || readSegment(t, segs[1]) != "cur1\ncur2\n" {
		t.Fatalf("current window not continued: %+v", segs)
	}
}

func TestSpoolSealOntoUnuploadedSegmentKeepsBoth(t *testing.T) {
	dir := t.TempDir()
	end := time.Date(2026, 11, 25, 6, 5, 0, 0, time.UTC)
	s, err := OpenSpool(dir, end)
	if err != nil {
		t.Fatal(err)
	}
	s.Append([]byte("first\n"))
	if err := s.Rotate(end); err != nil { // early seal, as on shutdown
		t.Fatal(err)
	}
	s.Append([]byte("second\n"))
	if err := s.Rotate(end.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	segs, _ := s.Sealed()
	if len(segs) != 1 || readSegment(t, segs[0]) != "first\nsecond\n" {
		t.Fatalf("got %+v", segs)
	}
}
