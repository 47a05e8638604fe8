package parser

import (
	"bytes"
	"time"
)

// Reasons a body is FormatUnknown or Truncated. They are constants so a
// Record costs no allocation.
const (
	ReasonNoFormat  = "matches no known HAProxy format"
	ReasonTruncated = "line ends before its format does (HAProxy log len?)"
	ReasonBadField  = "a field does not hold what its format says"
)

// ParseBody reads an HAProxy message body into r's HAProxy fields, trying
// every known format. It sets r.Body to body and leaves the header alone.
// A body that matches no format keeps Format == FormatUnknown with r.Reason
// set; this is not an error.
func ParseBody(body []byte, r *Record) {
	parseBody(body, r, nil)
}

// parseBody is ParseBody with a cache of accept dates (nil: none).
func parseBody(body []byte, r *Record, dates *secondCache) {
	r.Body = body
	r.resetFields()
	var ok bool
	switch {
	case bytes.HasPrefix(body, []byte("elb-http ")):
		ok = r.parseELB(body[len("elb-http "):], true, dates)
	case bytes.HasPrefix(body, []byte("elb-tcp ")):
		ok = r.parseELB(body[len("elb-tcp "):], false, dates)
	case bytes.HasPrefix(body, []byte("httplog ")):
		ok = r.parseLegacy(body[len("httplog "):], true)
	case bytes.HasPrefix(body, []byte("tcplog ")):
		ok = r.parseLegacy(body[len("tcplog "):], false)
	default:
		ok = r.parseStock(body, dates)
	}
	if !ok {
		truncated, reason := r.Truncated, r.Reason
		r.resetFields()
		r.Truncated = truncated
		r.Reason = reason
		if r.Reason == "" {
			r.Reason = ReasonNoFormat
		}
	}
}

// resetFields clears the HAProxy fields, keeping header, framing and body.
func (r *Record) resetFields() {
	h, f, b := r.Header, r.Framing, r.Body
	// Zero *r in place, then set what is not zero: a composite literal
	// would be built aside and copied in.
	*r = Record{}
	r.Header, r.Framing, r.Body = h, f, b
	r.TRequest, r.TQueue, r.TConnect, r.TResponse, r.TData, r.TTotal = -1, -1, -1, -1, -1, -1
	r.Status, r.BytesRead, r.BytesSent = -1, -1, -1
}

// scanner walks a body token by token. Tokens are separated by one or
// more spaces; none of them allocates.
type scanner struct {
	b   []byte
	eof bool // a token was asked for past the end of the line
}

// next returns the next space-separated token. It works on a local copy
// of s.b and stores it once: the loops then run in registers.
func (s *scanner) next() []byte {
	b := skipSpaces(s.b)
	if len(b) == 0 {
		s.b, s.eof = b, true
		return nil
	}
	i := 0
	for i < len(b) && b[i] != ' ' {
		i++
	}
	s.b = b[i:]
	return b[:i]
}

// skipSpaces returns b without its leading spaces.
func skipSpaces(b []byte) []byte {
	i := 0
	for i < len(b) && b[i] == ' ' {
		i++
	}
	return b[i:]
}

// quoted returns the next "..."-quoted token without its quotes; a
// backslash escapes the next byte. complete is false when the line ends
// before the closing quote (a truncated line); ok is false when the next
// token does not start with a quote.
func (s *scanner) quoted() (tok []byte, ok, complete bool) {
	b := skipSpaces(s.b)
	s.b = b
	if len(b) == 0 {
		s.eof = true
		return nil, false, false
	}
	if b[0] != '"' {
		return nil, false, false
	}
	if end := bytes.IndexByte(b[1:], '"') + 1; end > 0 && bytes.IndexByte(b[1:end], '\\') < 0 {
		s.b = b[end+1:]
		return b[1:end], true, true
	}
	for i := 1; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			s.b = b[i+1:]
			return b[1:i], true, true
		}
	}
	s.b = nil
	return b[1:], true, false
}

// rest returns what is left of the line, without leading spaces.
func (s *scanner) rest() []byte {
	s.b = skipSpaces(s.b)
	return s.b
}

// atoi parses a decimal integer with an optional sign ('+' marks HAProxy's
// "logasap" totals). ok is false for anything else or on overflow.
func atoi(b []byte) (n int64, ok bool) {
	neg := false
	if len(b) > 0 && (b[0] == '-' || b[0] == '+') {
		neg = b[0] == '-'
		b = b[1:]
	}
	if len(b) == 0 || len(b) > 18 {
		return 0, false
	}
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	if neg {
		n = -n
	}
	return n, true
}

// timer parses an HAProxy timer, milliseconds or -1 when the event never
// happened, into microseconds (-1 stays -1). HAProxy logs whole
// milliseconds; a fraction of up to three digits ("0.073") is accepted for
// sources that measure finer.
func timer(b []byte) (int, bool) {
	if n, ok := digits(b); ok && len(b) <= 12 {
		return n * 1000, true // the usual case: whole milliseconds
	}
	whole, frac, _ := bytes.Cut(b, []byte("."))
	n, ok := atoi(whole)
	if !ok || n < -1 || n > 1<<40 || len(frac) > 3 || (n < 0 && len(frac) > 0) {
		return 0, false
	}
	if n < 0 {
		return -1, true
	}
	us := int(n) * 1000
	if len(frac) > 0 {
		f, ok := digits(frac)
		if !ok {
			return 0, false
		}
		for k := len(frac); k < 3; k++ {
			f *= 10
		}
		us += f
	}
	return us, true
}

// timers splits a slash-separated list of n timers ("0/0/1/2/3") into out.
func timers(b []byte, out []*int) bool {
	last := len(out) - 1
	for i, p := range out {
		j := len(b) // the last timer takes the rest
		if i < last {
			// A loop, not bytes.IndexByte: timers are a few bytes long.
			j = 0
			for j < len(b) && b[j] != '/' {
				j++
			}
			if j == len(b) {
				return false
			}
		}
		v, ok := timer(b[:j])
		if !ok {
			return false
		}
		*p = v
		if j < len(b) {
			b = b[j+1:]
		}
	}
	return true
}

// count parses a byte count or status; "-" is -1.
func count(b []byte) (int64, bool) {
	if len(b) == 1 && b[0] == '-' {
		return -1, true
	}
	n, ok := atoi(b)
	return n, ok && n >= -1
}

// splitHostPort splits "ip:port" on the last ':' (IPv6 addresses hold
// colons of their own). "-:-" and "-" give "-", "-".
func splitHostPort(b []byte) (host, port []byte, ok bool) {
	i := bytes.LastIndexByte(b, ':')
	if i < 0 {
		if len(b) == 1 && b[0] == '-' {
			return b, b, true
		}
		return nil, nil, false
	}
	host, port = b[:i], b[i+1:]
	if len(host) == 0 || len(port) == 0 {
		return nil, nil, false
	}
	return host, port, true
}

// splitProxy splits "backend/server".
func splitProxy(b []byte) (backend, server []byte, ok bool) {
	i := bytes.IndexByte(b, '/')
	if i <= 0 || i == len(b)-1 {
		return nil, nil, false
	}
	return b[:i], b[i+1:], true
}

// splitRequest fills Method, URI and Version from r.Request, which is the
// request line HAProxy logged ("GET /x HTTP/1.1", or "<BADREQ>").
func (r *Record) splitRequest() {
	req := r.Request
	i := bytes.IndexByte(req, ' ')
	if i <= 0 {
		return
	}
	r.Method, req = req[:i], req[i+1:]
	if j := bytes.LastIndexByte(req, ' '); j >= 0 && bytes.HasPrefix(req[j+1:], []byte("HTTP/")) {
		r.URI, r.Version = req[:j], req[j+1:]
		return
	}
	r.URI = req
}

// deriveTData computes the response (HTTP) or relay (TCP) time from the
// total: active, the time the total covers, minus the other timers.
func (r *Record) deriveTData(active int) {
	if active < 0 || r.TQueue < 0 || r.TConnect < 0 {
		return
	}
	d := active - r.TQueue - r.TConnect
	if r.HTTP {
		if r.TRequest < 0 || r.TResponse < 0 {
			return
		}
		d -= r.TRequest + r.TResponse
	}
	// Each timer is rounded to the millisecond: the others can add up to
	// a little more than the total.
	r.TData = max(d, 0)
}

// fail marks r unparsed for reason and returns false. A scanner that ran
// past the end of the line makes it a truncation.
func (r *Record) fail(s *scanner, reason string) bool {
	if s != nil && s.eof {
		r.Truncated = true
		r.Reason = ReasonTruncated
		return false
	}
	r.Reason = reason
	return false
}

// parseDate reads HAProxy's "%t"/"%tr" date, "25/Nov/2026:17:13:30.440",
// in UTC (HAProxy logs local time; the agent's hosts run in UTC). Six
// fraction digits (microseconds) are accepted too. seconds caches the
// part up to the second.
func parseDate(b []byte, seconds *secondCache) (time.Time, bool) {
	if (len(b) != 24 && len(b) != 27) || b[20] != '.' {
		return time.Time{}, false
	}
	frac, ok := digits(b[21:])
	if !ok {
		return time.Time{}, false
	}
	if len(b) == 24 {
		frac *= 1000 // milliseconds
	}
	t, ok := seconds.get(b[:20])
	if !ok {
		if t, ok = parseDateSeconds(b[:20]); !ok {
			return time.Time{}, false
		}
		seconds.put(b[:20], t)
	}
	return t.Add(time.Duration(frac) * time.Microsecond), true
}

// parseDateSeconds reads "25/Nov/2026:17:13:30" in UTC.
func parseDateSeconds(b []byte) (time.Time, bool) {
	if len(b) != 20 || b[2] != '/' || b[6] != '/' || b[11] != ':' || b[14] != ':' || b[17] != ':' {
		return time.Time{}, false
	}
	day, ok1 := digits(b[0:2])
	mon, ok2 := month(b[3:6])
	year, ok3 := digits(b[7:11])
	hh, ok4 := digits(b[12:14])
	mm, ok5 := digits(b[15:17])
	ss, ok6 := digits(b[18:20])
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) || day < 1 || day > 31 || hh > 23 || mm > 59 || ss > 60 {
		return time.Time{}, false
	}
	return time.Date(year, mon, day, hh, mm, ss, 0, time.UTC), true
}

// digits parses a fixed-width run of decimal digits.
func digits(b []byte) (int, bool) {
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, len(b) > 0
}

var monthNames = [12]string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"}

func month(b []byte) (time.Month, bool) {
	for i, m := range monthNames {
		if string(b) == m {
			return time.Month(i + 1), true
		}
	}
	return 0, false
}
