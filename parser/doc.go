// Package parser turns a syslog datagram sent by HAProxy into a Record and a
// Record into one output line. It does no I/O: callers hand it bytes and get
// bytes back, so it can be tested, fuzzed and benchmarked in isolation.
//
// The stages are:
//
//	datagram --Parser.Parse--> Record (syslog header + HAProxy fields) --Encoder--> line
//
// Framing reads RFC 3164 and RFC 5424. The exact shapes HAProxy sends take
// an allocation-free fast path; everything else goes through
// github.com/leodido/go-syslog. The message body is kept whole: it is never
// split on ':' because URLs, IPv6 addresses and user agents contain it.
//
// ParseBody recognises, line by line, the project's recommended log-format
// (packaging/haproxy), HAProxy's stock httplog and tcplog, the original
// recipe's formats and the Eucalyptus servo formats. A body of no known
// format keeps FormatUnknown with a Reason and is still encoded (raw);
// lines HAProxy cut short are marked Truncated.
//
// Encoders: "elb" (AWS Classic ELB access-log lines), "raw" (the syslog line
// as a file writer stores it) and "json". docs/elb-format.md maps every
// field. In steady state neither parsing nor encoding allocates.
package parser
