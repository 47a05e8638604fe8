// Package parser turns a syslog datagram sent by HAProxy into a Record and a
// Record into one output line. It does no I/O: callers hand it bytes and get
// bytes back, so it can be tested, fuzzed and benchmarked in isolation.
//
// The stages are:
//
//	datagram --Parse--> Record (syslog header + HAProxy body) --Encoder--> line
//
// Syslog framing (RFC 3164 and RFC 5424) is done by github.com/leodido/go-syslog.
// The message body is kept whole: it is never split on ':' because URLs,
// IPv6 addresses and user agents contain it.
package parser
