package spool_test

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	. "github.com/elb-access-logger/elb-access-logger/agent/spool"
)

func TestWindowCountsSidecar(t *testing.T) {
	dir := t.TempDir()
	s := openSpool(t, dir, t0.Add(time.Minute), nil)
	for _, l := range []struct {
		line                string
		unparsed, truncated bool
	}{{"a", false, false}, {"b", true, false}, {"c", true, true}, {"d", false, true}} {
		if err := s.AppendCounted([]byte(l.line+"\n"), l.unparsed, l.truncated); err != nil {
			t.Fatal(err)
		}
	}
	s.NoteDrops(5, 2)
	if err := s.Rotate(t0.Add(5 * time.Minute)); err != nil {
		t.Fatal(err)
	}
	segs, err := s.Sealed()
	if err != nil || len(segs) != 1 {
		t.Fatalf("Sealed: %v, %d segments, want 1", err, len(segs))
	}
	got, ok, err := ReadCounts(segs[0])
	if err != nil || !ok {
		t.Fatalf("ReadCounts: ok %v, err %v", ok, err)
	}
	want := WindowCounts{Lines: 4, Unparsed: 2, Truncated: 2, KernelDrops: 5, HAProxyDropped: 2}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("counts: got %+v, want %+v", got, want)
	}
	md := got.Metadata()
	for k, v := range map[string]string{"lines": "4", "unparsed": "2", "truncated": "2", "kernel-drops": "5", "haproxy-dropped": "2", "counts": "complete"} {
		if md[k] != v {
			t.Errorf("metadata %s: got %q, want %q", k, md[k], v)
		}
	}
	// The next window starts from zero.
	appendLines(t, s, "e")
	if err := s.Rotate(t0.Add(10 * time.Minute)); err != nil {
		t.Fatal(err)
	}
	segs, _ = s.Sealed()
	if got, _, _ := ReadCounts(segs[1]); !reflect.DeepEqual(got, WindowCounts{Lines: 1}) {
		t.Errorf("second window counts: got %+v, want 1 line", got)
	}
	// Remove and Evict take the sidecar along.
	if err := s.Remove(segs[0]); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Evict(1, nil); err != nil {
		t.Fatal(err)
	}
	if got := s.Stats().EvictedLines; got != 1 {
		t.Errorf("EvictedLines: got %d, want 1", got)
	}
	left, _ := filepath.Glob(filepath.Join(dir, "*"+CountsSuffix))
	if len(left) != 0 {
		t.Errorf("sidecars left after remove and evict: %v", left)
	}
}

func TestWindowCountsAfterCrash(t *testing.T) {
	dir := t.TempDir()
	s := openSpool(t, dir, t0.Add(time.Minute), nil)
	appendLines(t, s, "a", "b")
	if err := s.Close(); err != nil { // a crash: the window is not sealed
		t.Fatal(err)
	}
	// A sidecar whose segment never got sealed, and a torn temporary.
	orphan := filepath.Join(dir, "window-20261125T055500Z-aaaaaaaa.log"+CountsSuffix)
	for _, p := range []string{orphan, orphan + ".tmp"} {
		if err := os.WriteFile(p, []byte("lines=1\n"), 0o640); err != nil {
			t.Fatal(err)
		}
	}
	s = openSpool(t, dir, t0.Add(2*time.Minute), nil)
	appendLines(t, s, "c")
	if err := s.Rotate(t0.Add(5 * time.Minute)); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{orphan, orphan + ".tmp"} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s: left behind (%v)", filepath.Base(p), err)
		}
	}
	segs, _ := s.Sealed()
	got, ok, err := ReadCounts(segs[0])
	if err != nil || !ok {
		t.Fatalf("ReadCounts: ok %v, err %v", ok, err)
	}
	if want := (WindowCounts{Lines: 1, Partial: true}); !reflect.DeepEqual(got, want) {
		t.Errorf("continued window: got %+v, want %+v", got, want)
	}
	if got.Metadata()["counts"] != "partial" {
		t.Errorf("metadata counts: got %q, want partial", got.Metadata()["counts"])
	}
}

func TestParseCountsRejectsBadInput(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"no equals", "lines 4\n", "f:1: want name=value"},
		{"not a number", "lines=4\nunparsed=x\n", `f:2: unparsed: "x" is not a count`},
		{"negative", "lines=-1\n", `f:1: lines: "-1" is not a count`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseCounts("f", []byte(tt.in))
			if err == nil || err.Error() != tt.want {
				t.Errorf("got %v, want %q", err, tt.want)
			}
		})
	}
	c := WindowCounts{Lines: 9, Unparsed: 1, Truncated: 2, KernelDrops: 3, HAProxyDropped: 4, Partial: true}
	if got, err := ParseCounts("f", c.Marshal()); err != nil || !reflect.DeepEqual(got, c) {
		t.Errorf("round trip: got %+v, %v; want %+v", got, err, c)
	}
}
