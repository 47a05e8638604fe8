//go:build !linux

package ingest

import "net"

// quietConn reads c as it is: raising SO_RCVLOWAT while the reader
// gathers is done on Linux only (listener_tcp_linux.go).
type quietConn struct{ c *net.TCPConn }

func newQuietConn(c *net.TCPConn) *quietConn { return &quietConn{c: c} }

func (q *quietConn) quiet(int) {}

func (q *quietConn) Read(p []byte) (int, error) { return q.c.Read(p) }
