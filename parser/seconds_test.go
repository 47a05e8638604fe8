package parser

import (
	"testing"
	"time"
)

// TestSecondCaches reads the same dates with one Parser, whose caches are
// warm, and with a fresh Parser per line: the times must agree, whatever
// order the seconds come in.
func TestSecondCaches(t *testing.T) {
	lines := []string{
		`<158>Nov 25 17:16:40 haproxy[1]: 10.0.0.1:1 [25/Nov/2026:17:16:40.623] fe be/s 0/0/0 6 -- 1/1/0/0/0 0/0`,
		`<158>Nov 25 17:16:40 haproxy[1]: 10.0.0.1:1 [25/Nov/2026:17:16:40.999] fe be/s 0/0/0 6 -- 1/1/0/0/0 0/0`,
		`<158>Nov 25 17:16:41 haproxy[1]: 10.0.0.1:1 [25/Nov/2026:17:16:41.000] fe be/s 0/0/0 6 -- 1/1/0/0/0 0/0`,
		`<158>1 2026-11-25T17:16:41.5+01:00 - haproxy 1 - - 10.0.0.1:1 [25/Nov/2026:17:16:41.000123] fe be/s 0/0/0 6 -- 1/1/0/0/0 0/0`,
		`<158>1 2026-11-25T17:16:41Z - haproxy 1 - - 10.0.0.1:1 [25/Nov/2026:17:16:41.001] fe be/s 0/0/0 6 -- 1/1/0/0/0 0/0`,
		`<158>Nov 25 17:16:40 haproxy[1]: 10.0.0.1:1 [25/Nov/2026:17:16:40.623] fe be/s 0/0/0 6 -- 1/1/0/0/0 0/0`,
		`<158>Nov 25 17:16:40 haproxy[1]: 10.0.0.1:1 [25/Nov/2026:17:16:60.623] fe be/s 0/0/0 6 -- 1/1/0/0/0 0/0`,
		`<158>Feb 29 00:00:00 haproxy[1]: 10.0.0.1:1 [29/Feb/2026:00:00:00.000] fe be/s 0/0/0 6 -- 1/1/0/0/0 0/0`,
		`<158>Feb 29 00:00:00 haproxy[1]: 10.0.0.1:1 [29/Feb/2026:00:00:00.000] fe be/s 0/0/0 6 -- 1/1/0/0/0 0/0`,
		`<158>Nov 25 17:16:40 haproxy[1]: 10.0.0.1:1 [25/Nov/2026:17:16:40.62x] fe be/s 0/0/0 6 -- 1/1/0/0/0 0/0`,
	}
	warm := NewParser()
	warm.now = fixedNow
	for _, line := range lines {
		cold := NewParser()
		cold.now = fixedNow
		var w, c Record
		if err := warm.Parse([]byte(line), &w); err != nil {
			t.Fatal(err)
		}
		if err := cold.Parse([]byte(line), &c); err != nil {
			t.Fatal(err)
		}
		if !w.Header.Timestamp.Equal(c.Header.Timestamp) || !w.Received.Equal(c.Received) || w.Format != c.Format || w.Framing != c.Framing {
			t.Errorf("%s:\n warm %v %v %v\n cold %v %v %v", line,
				w.Header.Timestamp, w.Received, w.Format, c.Header.Timestamp, c.Received, c.Format)
		}
	}
}

// TestYearChangeClearsCache: RFC 3164 times cached in one year are not
// served once the clock says the year has changed.
func TestYearChangeClearsCache(t *testing.T) {
	p := NewParser()
	p.now = func() time.Time { return time.Date(2026, 12, 31, 23, 59, 59, 0, time.UTC) }
	line := []byte(`<158>Jan  1 00:00:00 haproxy[1]: x`)
	var r Record
	p.Parse(line, &r)
	if want := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC); !r.Header.Timestamp.Equal(want) {
		t.Fatalf("in December: got %v, want %v", r.Header.Timestamp, want)
	}
	p.now = func() time.Time { return time.Date(2027, 1, 1, 0, 0, 1, 0, time.UTC) }
	for range yearEvery {
		p.Parse(line, &r)
	}
	if want := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC); !r.Header.Timestamp.Equal(want) {
		t.Errorf("in January: got %v, want %v", r.Header.Timestamp, want)
	}
}
