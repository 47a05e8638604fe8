//go:build !linux

package agent

import "net"

// setReceiveBuffer sets SO_RCVBUF; the effective size is not known here.
func setReceiveBuffer(conn *net.UDPConn, n int) (effective int, forced bool, err error) {
	return 0, false, conn.SetReadBuffer(n)
}

// udpReader reads one datagram per call: the portable fallback of the
// Linux recvmmsg reader.
type udpReader struct {
	conn *net.UDPConn
	buf  *batchBuf
}

func newBatchReader(conn *net.UDPConn, buf *batchBuf) (batchReader, error) {
	return &udpReader{conn: conn, buf: buf}, nil
}

func (r *udpReader) read(wait bool) (int, error) {
	if !wait {
		return 0, errWouldBlock
	}
	n, _, err := r.conn.ReadFromUDP(r.buf.slots[0])
	if err != nil {
		return 0, err
	}
	r.buf.sizes[0], r.buf.trunc[0] = n, false
	return 1, nil
}
