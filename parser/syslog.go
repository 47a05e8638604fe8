package parser

import (
	"bytes"
	"errors"
	"strings"
	"time"

	syslog "github.com/leodido/go-syslog/v4"
	"github.com/leodido/go-syslog/v4/rfc3164"
	"github.com/leodido/go-syslog/v4/rfc5424"
)

// ErrEmpty is returned for a datagram that holds nothing but white space.
var ErrEmpty = errors.New("parser: empty datagram")

// Header is the syslog envelope of one message.
type Header struct {
	// Timestamp is the time the sender put in the header. RFC 3164 headers
	// carry no year and no zone: UTC is assumed, and the year is the one
	// that puts the date nearest before the line's receive time (at most
	// about a month after it; see stampYear).
	Timestamp time.Time
	// Hostname is empty when the sender did not send one (HAProxy sends none
	// unless log-send-hostname is set).
	Hostname string
	// Tag is the program name (RFC 3164 TAG, RFC 5424 APP-NAME).
	Tag string
	// PID is the process id the sender reported, empty when absent.
	PID string
	// Priority is the PRI value, facility*8 + severity; -1 when absent.
	Priority int
}

// Parser frames syslog datagrams and parses their HAProxy bodies. A Parser
// is not safe for concurrent use; give each receiving goroutine its own.
type Parser struct {
	rfc3164 syslog.Machine
	rfc5424 syslog.Machine
	now     func() time.Time // the receive time of the line being parsed

	// The last header strings seen: HAProxy sends the same tag, pid and
	// host in every datagram, so reusing them keeps Parse from allocating.
	host, tag, pid string

	// The last dates read up to the second, by kind: RFC 3164 and RFC
	// 5424 headers and HAProxy's accept date.
	stamps3164, stamps5424, acceptDates secondCache
}

// NewParser returns a Parser that accepts RFC 3164 and RFC 5424 datagrams,
// lines as a syslog file writer stores them ("Dec 11 05:05:36 host tag:
// msg", no PRI), and bare HAProxy bodies.
func NewParser() *Parser {
	return &Parser{
		rfc3164: rfc3164.NewParser(
			rfc3164.WithBestEffort(),
			rfc3164.WithYear(rfc3164.CurrentYear{}),
			rfc3164.WithTimezone(time.UTC),
		),
		rfc5424: rfc5424.NewParser(rfc5424.WithBestEffort()),
		now:     time.Now,
	}
}

// Parse frames one datagram into r, replacing what r held, and parses its
// body (see ParseBody). r's byte fields alias datagram: copy them before
// reusing the datagram's buffer.
//
// A datagram that is not valid syslog is not an error: it is kept whole as the
// body with an empty header, so nothing that reached the agent is lost. The
// only error is ErrEmpty.
func (p *Parser) Parse(datagram []byte, r *Record) error {
	if err := p.frame(datagram, r); err != nil {
		*r = Record{Header: Header{Priority: -1}}
		return err
	}
	parseBody(r.Body, r, &p.acceptDates) // clears the fields frame left alone
	return nil
}

// Frame reads the syslog envelope of datagram into r.Header, r.Framing and
// r.Body and clears the rest of r; it does not parse the body.
//
// The exact shapes HAProxy sends take a fast path that does not allocate;
// anything else goes through go-syslog.
func (p *Parser) Frame(datagram []byte, r *Record) error {
	*r = Record{Header: Header{Priority: -1}}
	return p.frame(datagram, r)
}

// frame sets r.Header, r.Framing and r.Body from datagram and leaves the
// rest of r as it was: Parse clears it once, in ParseBody, rather than
// twice.
func (p *Parser) frame(datagram []byte, r *Record) error {
	line := datagram
	for len(line) > 0 && (line[len(line)-1] == '\n' || line[len(line)-1] == '\r' || line[len(line)-1] == 0) {
		line = line[:len(line)-1]
	}
	if len(line) == 0 || (line[0] <= ' ' && len(bytes.TrimSpace(line)) == 0) {
		return ErrEmpty
	}
	if p.fastFrame(line, r) {
		r.Framing = FramingSyslog
		return nil
	}
	return p.slowFrame(line, r)
}

// slowFrame frames line with go-syslog.
func (p *Parser) slowFrame(line []byte, r *Record) error {
	*r = Record{Header: Header{Priority: -1}}
	if isRFC5424(line) {
		msg, err := p.rfc5424.Parse(line)
		if m, ok := msg.(*rfc5424.SyslogMessage); ok && m != nil {
			switch {
			case m.Message != nil:
				r.Header = header(&m.Base)
				r.Body = bodyOf(line, *m.Message)
				return nil
			case err == nil && m.Appname != nil:
				// A complete header and no message at all.
				r.Header = header(&m.Base)
				r.Body = line[len(line):]
				return nil
			}
		}
	}
	msg, _ := p.rfc3164.Parse(line)
	if m, ok := msg.(*rfc3164.SyslogMessage); ok && m != nil && m.Message != nil {
		r.Header = header(&m.Base)
		if ts := r.Header.Timestamp; !ts.IsZero() {
			// go-syslog puts the date in the current year.
			if y := stampYear(ts.Month(), p.now()); y != ts.Year() {
				r.Header.Timestamp = time.Date(y, ts.Month(), ts.Day(), ts.Hour(), ts.Minute(), ts.Second(), ts.Nanosecond(), time.UTC)
			}
		}
		r.Body = body3164(line, r.Header, *m.Message)
		return nil
	}
	r.Body = line
	r.Framing = FramingNone
	return nil
}

// body3164 returns the message of an RFC 3164 line. go-syslog returns the
// tail of the tag as the message when the message is empty ("1]: " for
// "haproxy[1]: "): a line that ends with its tag has an empty body.
func body3164(line []byte, h Header, msg string) []byte {
	if h.Tag != "" {
		marker := h.Tag + ":"
		if h.PID != "" {
			marker = h.Tag + "[" + h.PID + "]:"
		}
		rest := bytes.TrimSuffix(line, []byte(" "))
		m := trimNewlines(msg)
		if bytes.HasSuffix(rest, []byte(marker)) && (strings.HasSuffix(marker, m) || strings.HasSuffix(marker+" ", m)) {
			return line[len(line):]
		}
	}
	return bodyOf(line, msg)
}

// bodyOf returns the part of line holding msg, so the body shares the
// datagram's bytes instead of the parser's string copy.
func bodyOf(line []byte, msg string) []byte {
	msg = trimNewlines(msg)
	if i := bytes.LastIndex(line, []byte(msg)); i >= 0 && len(msg) > 0 {
		return line[i : i+len(msg)]
	}
	return []byte(msg)
}

func trimNewlines(s string) string {
	for len(s) > 0 && (s[len(s)-1] == '\n' || s[len(s)-1] == '\r') {
		s = s[:len(s)-1]
	}
	return s
}

// isRFC5424 reports whether line starts with "<PRI>1 ", the RFC 5424 version.
func isRFC5424(line []byte) bool {
	if len(line) < 4 || line[0] != '<' {
		return false
	}
	i := bytes.IndexByte(line[:min(len(line), 6)], '>')
	return i > 1 && len(line) > i+2 && line[i+1] == '1' && line[i+2] == ' '
}

func header(b *syslog.Base) Header {
	h := Header{Priority: -1}
	if b.Timestamp != nil {
		h.Timestamp = b.Timestamp.UTC()
	}
	if b.Hostname != nil && *b.Hostname != "-" {
		h.Hostname = *b.Hostname
	}
	if b.Appname != nil && *b.Appname != "-" {
		h.Tag = *b.Appname
	}
	if b.ProcID != nil && *b.ProcID != "-" {
		h.PID = *b.ProcID
	}
	if b.Priority != nil {
		h.Priority = int(*b.Priority)
	}
	return h
}

// String returns the header as a classic syslog file writer prints it before
// the message, e.g. "Dec 11 05:05:36 localhost haproxy[1070]:".
func (h Header) String() string {
	return string(h.appendClassic(nil, "localhost"))
}

// appendClassic appends "Mmm dd hh:mm:ss host tag[pid]:" to dst. host is
// used when the sender did not name itself.
func (h Header) appendClassic(dst []byte, host string) []byte {
	ts := h.Timestamp
	if ts.IsZero() {
		ts = time.Now().UTC()
	}
	dst = ts.AppendFormat(dst, time.Stamp)
	dst = append(dst, ' ')
	if h.Hostname != "" {
		host = h.Hostname
	}
	dst = appendPrintable(dst, host)
	if h.Tag != "" {
		dst = append(dst, ' ')
		dst = appendPrintable(dst, h.Tag)
		if h.PID != "" {
			dst = append(dst, '[')
			dst = appendPrintable(dst, h.PID)
			dst = append(dst, ']')
		}
		dst = append(dst, ':')
	}
	return dst
}

// appendPrintable appends s with control characters and spaces written as
// rsyslog writes control characters (#ooo, octal), so a header field can
// neither end the line nor shift the fields after it.
func appendPrintable(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c == 0x7f {
			dst = append(dst, '#', '0'+c>>6, '0'+(c>>3)&7, '0'+c&7)
			continue
		}
		dst = append(dst, c)
	}
	return dst
}
