package parser

import "time"

// Framing says how a datagram's syslog envelope was read.
type Framing uint8

const (
	// FramingSyslog: an RFC 3164 or RFC 5424 header was found.
	FramingSyslog Framing = iota
	// FramingNone: no syslog header; the whole datagram is the body.
	FramingNone
)

// Record is one log line: its syslog header, the HAProxy message body and
// the HAProxy fields read from the body.
//
// Every []byte field aliases the datagram it was parsed from: copy what
// must outlive the datagram's buffer. A body that matches no known format
// keeps Format == FormatUnknown with Reason saying why, and is still
// written (raw) and counted; nothing is dropped.
type Record struct {
	Header  Header
	Framing Framing
	Body    []byte
	Format  Format

	// Truncated is set when the line ends before its format does, as
	// HAProxy's "log ... len" cuts it. A truncated line whose fields up to
	// the request line are whole keeps its Format; otherwise it is
	// FormatUnknown.
	Truncated bool
	// Reason says why the body is FormatUnknown or Truncated; empty
	// otherwise. It is a constant string (no allocation per line).
	Reason string

	// HTTP is true for an HTTP transaction, false for a TCP session.
	HTTP bool
	// SSL is true when the frontend terminated TLS.
	SSL bool
	// Received is when HAProxy received the request (HTTP) or accepted
	// the connection (TCP), at the resolution the format gives. Formats
	// without a date leave it zero; encoders then use Header.Timestamp.
	Received time.Time

	ClientIP, ClientPort     []byte
	FrontendIP, FrontendPort []byte
	ServerIP, ServerPort     []byte // "-" or empty when no server was connected
	Frontend, Backend        []byte
	Server                   []byte // "<NOSRV>" when none was chosen

	// Timers in microseconds (HAProxy logs whole milliseconds), -1 when the event never happened (HAProxy's
	// convention). TRequest is the time to receive the request: %TR, or
	// %Tq (which includes the handshake and idle time) for formats that
	// only log %Tq; -1 for TCP. TData is the time to send the response
	// (HTTP) or to relay the session (TCP): %Td, computed as the total
	// minus the other timers.
	TRequest, TQueue, TConnect, TResponse, TData, TTotal int

	// Status is the HTTP status HAProxy sent (%ST), -1 when none (TCP).
	Status int
	// BytesRead (%U) and BytesSent (%B) count headers and bodies; -1 when
	// the format does not log them.
	BytesRead, BytesSent int64
	// TermState is HAProxy's termination state (%ts, or the first two
	// characters of %tsc).
	TermState []byte

	// Request is the request line as logged, without quotes; Method, URI
	// and Version are its parts (empty for "<BADREQ>" or TCP).
	Request, Method, URI, Version []byte
	// Host and UserAgent come from header captures; empty when not
	// captured. They keep HAProxy's #XX escapes.
	Host, UserAgent []byte
	// SSLCipher and SSLVersion are empty when the format does not log
	// them or the connection was not TLS.
	SSLCipher, SSLVersion []byte
}

// Format names the HAProxy log format a body was recognised as.
type Format uint8

const (
	// FormatUnknown: the body matched no known HAProxy format.
	FormatUnknown Format = iota
	// FormatELB: the project's recommended log-format, "elb1 ..."
	// (packaging/haproxy/elb-access-logger.cfg).
	FormatELB
	// FormatHTTPLog: HAProxy's stock "option httplog" and "option
	// httpslog" (which adds the SSL fields).
	FormatHTTPLog
	// FormatTCPLog: HAProxy's stock "option tcplog".
	FormatTCPLog
	// FormatRecipe: the original recipe's extended "httplog ..." and
	// "tcplog ..." formats (request line, addresses and sizes).
	FormatRecipe
	// FormatRecipeShort: the recipe's short predecessor, timers only.
	FormatRecipeShort
	// FormatServo: the Eucalyptus servo formats ("httplog %Ts ...").
	FormatServo
)

var formatNames = [...]string{
	FormatUnknown:     "unknown",
	FormatELB:         "elb",
	FormatHTTPLog:     "httplog",
	FormatTCPLog:      "tcplog",
	FormatRecipe:      "recipe",
	FormatRecipeShort: "recipe-short",
	FormatServo:       "servo",
}

// String returns the format's name as used in metrics and logs.
func (f Format) String() string {
	if int(f) < len(formatNames) {
		return formatNames[f]
	}
	return "invalid"
}
