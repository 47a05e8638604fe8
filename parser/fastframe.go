package parser

import (
	"bytes"
	"time"
)

// fastFrame frames the exact shapes HAProxy sends without allocating:
//
//	<PRI>Mmm dd hh:mm:ss [HOST ]TAG[PID]: MSG                (RFC 3164)
//	<PRI>1 TIMESTAMP HOST APP PROCID MSGID - MSG             (RFC 5424, no SD)
//
// and the RFC 3164 shape without <PRI> that syslog file writers store. It
// returns false, leaving the rest to go-syslog, for anything else.
func (p *Parser) fastFrame(line []byte, r *Record) bool {
	pri, rest := -1, line
	if len(line) > 0 && line[0] == '<' {
		end := bytes.IndexByte(line[:min(len(line), 5)], '>')
		if end < 2 {
			return false
		}
		n, ok := digits(line[1:end])
		if !ok || n > 191 || (end > 2 && line[1] == '0') {
			return false
		}
		pri, rest = n, line[end+1:]
	}
	if pri >= 0 && len(rest) > 2 && rest[0] == '1' && rest[1] == ' ' {
		return p.fast5424(rest[2:], pri, r)
	}
	return p.fast3164(rest, pri, r)
}

// fast3164 reads "Mmm dd hh:mm:ss [HOST ]TAG[PID]: MSG".
func (p *Parser) fast3164(b []byte, pri int, r *Record) bool {
	if len(b) < 16 || b[15] != ' ' {
		return false
	}
	ts, ok := p.time3164(b[:15])
	if !ok {
		return false
	}
	b = b[16:]
	var host []byte
	tok, rest, found := cutSpace(b)
	if !found || len(tok) == 0 {
		return false
	}
	if tok[len(tok)-1] != ':' {
		host = tok
		if tok, rest, found = cutSpace(rest); !found {
			return false
		}
	}
	if len(tok) < 2 || tok[len(tok)-1] != ':' || len(host) > 255 || !isHostname(host) {
		return false
	}
	tag, pid, ok := splitTag(tok[:len(tok)-1])
	if !ok || len(rest) == 0 {
		return false
	}
	r.Header = Header{Timestamp: ts, Priority: pri}
	r.Header.Hostname = p.intern(&p.host, host)
	r.Header.Tag = p.intern(&p.tag, tag)
	r.Header.PID = p.intern(&p.pid, pid)
	r.Body = rest
	return true
}

// time3164 reads an RFC 3164 timestamp, "Nov 25 17:16:40", in the year
// its receive time gives it (stampYear), through a cache of the last one:
// the clock is read for each line whose stamp differs from the last, and a
// line repeating the last stamp (HAProxy stamps a whole second's lines
// alike) gets the time worked out for it.
func (p *Parser) time3164(stamp []byte) (time.Time, bool) {
	if ts, ok := p.stamps3164.get(stamp); ok {
		return ts, true
	}
	ts, ok := parse3164Stamp(stamp, p.now())
	if ok {
		p.stamps3164.put(stamp, ts)
	}
	return ts, ok
}

// parse3164Stamp reads "Mmm dd hh:mm:ss" in UTC, in the year stampYear
// gives it for a line received at now.
func parse3164Stamp(b []byte, now time.Time) (time.Time, bool) {
	if len(b) != 15 || b[3] != ' ' || b[6] != ' ' || b[9] != ':' || b[12] != ':' {
		return time.Time{}, false
	}
	mon, ok := month(b[0:3])
	if !ok {
		return time.Time{}, false
	}
	dayField := b[4:6]
	switch dayField[0] {
	case ' ':
		dayField = dayField[1:]
	case '0':
		return time.Time{}, false // RFC 3164 pads the day with a space
	}
	day, ok1 := digits(dayField)
	hh, ok2 := digits(b[7:9])
	mm, ok3 := digits(b[10:12])
	ss, ok4 := digits(b[13:15])
	if !(ok1 && ok2 && ok3 && ok4) || day < 1 || day > 31 || hh > 23 || mm > 59 || ss > 59 {
		return time.Time{}, false
	}
	ts := time.Date(stampYear(mon, now), mon, day, hh, mm, ss, 0, time.UTC)
	if ts.Day() != day {
		return time.Time{}, false // Feb 30 and the like
	}
	return ts, true
}

// stampYear returns the year of a date in month mon that carries no year
// (an RFC 3164 header) received at now: the date is taken to be at most
// about a month ahead of the receive time, and otherwise in the eleven
// months before it. So a December line received on 1 January is last
// year's, a January line received on 31 December (a sender's clock a
// little fast) next year's, and any other month this year's unless it is
// later than next month (a line replayed from a capture).
func stampYear(mon time.Month, now time.Time) int {
	year, cur, _ := now.UTC().Date()
	switch ahead := (int(mon) - int(cur) + 12) % 12; {
	case ahead <= 1 && mon < cur:
		return year + 1
	case ahead > 1 && mon > cur:
		return year - 1
	}
	return year
}

// isHostname reports whether b holds only what host names hold.
func isHostname(b []byte) bool {
	for _, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// splitTag splits "haproxy[1070]" into tag and pid.
func splitTag(b []byte) (tag, pid []byte, ok bool) {
	if i := bytes.IndexByte(b, '['); i >= 0 {
		if b[len(b)-1] != ']' || i == 0 {
			return nil, nil, false
		}
		tag, pid = b[:i], b[i+1:len(b)-1]
		if _, ok := digits(pid); !ok {
			return nil, nil, false
		}
	} else {
		tag = b
	}
	if len(tag) > 48 || string(tag) == "-" {
		// "-" is the nil value of a header field: the slow path decides.
		return nil, nil, false
	}
	for _, c := range tag {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == '/') {
			return nil, nil, false
		}
	}
	return tag, pid, true
}

// fast5424 reads "TIMESTAMP HOST APP PROCID MSGID - MSG" after "<PRI>1 ".
func (p *Parser) fast5424(b []byte, pri int, r *Record) bool {
	var f [6][]byte
	for i := range f {
		tok, rest, found := cutSpace(b)
		if !found || len(tok) == 0 {
			return false
		}
		f[i], b = tok, rest
	}
	if len(f[5]) != 1 || f[5][0] != '-' || len(b) == 0 {
		return false // structured data or no message: go-syslog
	}
	var ts time.Time
	if !(len(f[0]) == 1 && f[0][0] == '-') {
		var ok bool
		if ts, ok = parseRFC3339(f[0], &p.stamps5424); !ok {
			return false
		}
	}
	for _, v := range f[1:5] {
		for _, c := range v {
			if c < 33 || c > 126 {
				return false
			}
		}
	}
	if len(f[1]) > 255 || len(f[2]) > 48 || len(f[3]) > 128 || len(f[4]) > 32 {
		return false
	}
	r.Header = Header{Timestamp: ts, Priority: pri}
	r.Header.Hostname = p.intern(&p.host, nilDash(f[1]))
	r.Header.Tag = p.intern(&p.tag, nilDash(f[2]))
	r.Header.PID = p.intern(&p.pid, nilDash(f[3]))
	r.Body = b
	return true
}

// cutSpace is bytes.Cut(b, " ") without the general separator search.
func cutSpace(b []byte) (before, after []byte, found bool) {
	if i := bytes.IndexByte(b, ' '); i >= 0 {
		return b[:i], b[i+1:], true
	}
	return b, nil, false
}

func nilDash(b []byte) []byte {
	if len(b) == 1 && b[0] == '-' {
		return nil
	}
	return b
}

// intern returns *last when it equals b, else stores string(b) in *last.
// The comparison does not allocate.
func (p *Parser) intern(last *string, b []byte) string {
	if len(b) == 0 {
		return ""
	}
	if string(b) != *last {
		*last = string(b)
	}
	return *last
}

// parseRFC3339 reads an RFC 5424 timestamp, "2026-11-25T06:13:06.172255+00:00"
// or with Z, up to microseconds, into UTC. seconds caches the part up to
// the second.
func parseRFC3339(b []byte, seconds *secondCache) (time.Time, bool) {
	if len(b) < 20 {
		return time.Time{}, false
	}
	t, ok := seconds.get(b[:19])
	if !ok {
		if t, ok = parseRFC3339Seconds(b[:19]); !ok {
			return time.Time{}, false
		}
		seconds.put(b[:19], t)
	}
	b = b[19:]
	nsec := 0
	if b[0] == '.' {
		i := 1
		for ; i < len(b) && b[i] >= '0' && b[i] <= '9'; i++ {
		}
		if i == 1 || i > 7 {
			return time.Time{}, false
		}
		frac, _ := digits(b[1:i])
		for k := i - 1; k < 9; k++ {
			frac *= 10
		}
		nsec, b = frac, b[i:]
	}
	offset := 0
	switch {
	case len(b) == 1 && (b[0] == 'Z' || b[0] == 'z'):
	case len(b) == 6 && (b[0] == '+' || b[0] == '-') && b[3] == ':':
		oh, okh := digits(b[1:3])
		om, okm := digits(b[4:6])
		if !okh || !okm || oh > 23 || om > 59 {
			return time.Time{}, false
		}
		offset = oh*3600 + om*60
		if b[0] == '-' {
			offset = -offset
		}
	default:
		return time.Time{}, false
	}
	return t.Add(time.Duration(nsec) - time.Duration(offset)*time.Second), true
}

// parseRFC3339Seconds reads "2026-11-25T06:13:06" in UTC.
func parseRFC3339Seconds(b []byte) (time.Time, bool) {
	if len(b) != 19 || b[4] != '-' || b[7] != '-' || (b[10] != 'T' && b[10] != 't') || b[13] != ':' || b[16] != ':' {
		return time.Time{}, false
	}
	year, ok1 := digits(b[0:4])
	mon, ok2 := digits(b[5:7])
	day, ok3 := digits(b[8:10])
	hh, ok4 := digits(b[11:13])
	mm, ok5 := digits(b[14:16])
	ss, ok6 := digits(b[17:19])
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) || mon < 1 || mon > 12 || day < 1 || day > 31 || hh > 23 || mm > 59 || ss > 59 {
		return time.Time{}, false
	}
	t := time.Date(year, time.Month(mon), day, hh, mm, ss, 0, time.UTC)
	if t.Day() != day {
		return time.Time{}, false
	}
	return t, true
}
