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

// TestRFC3164Year: an RFC 3164 date takes its year from the receive time
// of every line, with one Parser (caches warm) as a quiet node's listener
// keeps it across New Year, on the fast path and through go-syslog.
func TestRFC3164Year(t *testing.T) {
	p := NewParser()
	steps := []struct {
		now  time.Time
		line string
		want time.Time
	}{
		{time.Date(2026, 12, 31, 23, 59, 58, 0, time.UTC), `<158>Dec 31 23:59:58 haproxy[1]: x`, time.Date(2026, 12, 31, 23, 59, 58, 0, time.UTC)},
		// A sender's clock a little fast: next year's first second.
		{time.Date(2026, 12, 31, 23, 59, 59, 0, time.UTC), `<158>Jan  1 00:00:00 haproxy[1]: x`, time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)},
		// A December line received on 1 January is last year's.
		{time.Date(2027, 1, 1, 0, 0, 1, 0, time.UTC), `<158>Dec 31 23:59:59 haproxy[1]: x`, time.Date(2026, 12, 31, 23, 59, 59, 0, time.UTC)},
		{time.Date(2027, 1, 1, 0, 0, 1, 0, time.UTC), `<158>Dec 31 23:59:59 haproxy[1]: y`, time.Date(2026, 12, 31, 23, 59, 59, 0, time.UTC)},
		// Hours later, a quiet node's next line: this year.
		{time.Date(2027, 1, 1, 6, 0, 0, 0, time.UTC), `<158>Jan  1 06:00:00 haproxy[1]: x`, time.Date(2027, 1, 1, 6, 0, 0, 0, time.UTC)},
		{time.Date(2027, 1, 2, 6, 0, 0, 0, time.UTC), `<158>Jan  2 06:00:00 haproxy[1]: x`, time.Date(2027, 1, 2, 6, 0, 0, 0, time.UTC)},
		// Through go-syslog (a tag without its colon).
		{time.Date(2027, 1, 1, 0, 0, 1, 0, time.UTC), `<158>Dec 31 23:59:59 host haproxy[1] x`, time.Date(2026, 12, 31, 23, 59, 59, 0, time.UTC)},
		{time.Date(2026, 12, 31, 23, 59, 59, 0, time.UTC), `<158>Jan  1 00:00:00 host haproxy[1] x`, time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)},
		{time.Date(2027, 6, 1, 0, 0, 0, 0, time.UTC), `<158>Jan  1 00:00:00 host haproxy[1] x`, time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)},
		// A capture replayed in March: last August's.
		{time.Date(2027, 3, 1, 0, 0, 0, 0, time.UTC), `<158>Aug  1 00:00:00 haproxy[1]: x`, time.Date(2026, 8, 1, 0, 0, 0, 0, time.UTC)},
		{time.Date(2027, 8, 1, 0, 0, 0, 0, time.UTC), `<158>Mar  1 00:00:00 haproxy[1]: x`, time.Date(2027, 3, 1, 0, 0, 0, 0, time.UTC)},
	}
	for _, s := range steps {
		p.now = func() time.Time { return s.now }
		var r Record
		if err := p.Parse([]byte(s.line), &r); err != nil {
			t.Fatal(err)
		}
		if !r.Header.Timestamp.Equal(s.want) {
			t.Errorf("%s received %s: got %v, want %v", s.line, s.now.Format(time.RFC3339), r.Header.Timestamp, s.want)
		}
	}
}

// TestStampYear: whatever the months, the date is put at most about a
// month and a half after the receive time and at most eleven months
// before it.
func TestStampYear(t *testing.T) {
	for cur := time.January; cur <= time.December; cur++ {
		now := time.Date(2027, cur, 15, 0, 0, 0, 0, time.UTC)
		for mon := time.January; mon <= time.December; mon++ {
			d := time.Date(stampYear(mon, now), mon, 15, 0, 0, 0, 0, time.UTC).Sub(now)
			if d > 46*24*time.Hour || d < -335*24*time.Hour {
				t.Errorf("%v received in %v: %v away", mon, cur, d)
			}
		}
	}
}
