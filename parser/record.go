package parser

// Framing says how a datagram's syslog envelope was read.
type Framing uint8

const (
	// FramingSyslog: an RFC 3164 or RFC 5424 header was found.
	FramingSyslog Framing = iota
	// FramingNone: no syslog header; the whole datagram is the body.
	FramingNone
)

// Record is one log line: its syslog header and the HAProxy message body.
//
// Body aliases the datagram it was parsed from. The HAProxy fields are
// filled in by the body parsers; a body that matches no known format keeps
// Format == FormatUnknown and is still written (raw) and counted.
type Record struct {
	Header  Header
	Framing Framing
	Body    []byte
	Format  Format
}

// Format names the HAProxy log format a body was recognised as.
type Format uint8

const (
	// FormatUnknown: the body matched no known HAProxy format.
	FormatUnknown Format = iota
)

// String returns the format's name as used in metrics and logs.
func (f Format) String() string {
	switch f {
	case FormatUnknown:
		return "unknown"
	}
	return "invalid"
}
