package ingest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/elb-access-logger/elb-access-logger/internal/testbed"
)

func tcpAddr(t *testing.T, in *Ingest) string {
	t.Helper()
	for _, a := range in.Addrs() {
		if a.Network() == "tcp" {
			return a.String()
		}
	}
	t.Fatal("no tcp listener")
	return ""
}

func udpAddr(t *testing.T, in *Ingest) string {
	t.Helper()
	for _, a := range in.Addrs() {
		if a.Network() == "udp" {
			return a.String()
		}
	}
	t.Fatal("no udp listener")
	return ""
}

func dialTCP(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// waitClosed waits up to 10 s for the agent to close c.
func waitClosed(t *testing.T, c net.Conn) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.Copy(io.Discard, c); err != nil && errors.Is(err, io.ErrNoProgress) {
		t.Fatal(err)
	}
	var ne net.Error
	if _, err := c.Read(make([]byte, 1)); errors.As(err, &ne) && ne.Timeout() {
		t.Fatal("connection still open")
	}
}

func TestTCPFramesOfBothKinds(t *testing.T) {
	in, sink, _ := serveIngest(t, Options{MaxMessageBytes: 480}, "tcp://127.0.0.1:0")
	c := dialTCP(t, tcpAddr(t, in))
	var stream bytes.Buffer
	for i := range 100 {
		if i%2 == 0 {
			fmt.Fprintf(&stream, "%d %s", len(rawLine(i)), rawLine(i))
		} else {
			fmt.Fprintf(&stream, "%s\n", rawLine(i))
		}
	}
	// Byte by byte for a part, then the rest at once.
	b := stream.Bytes()
	for _, x := range b[:300] {
		c.Write([]byte{x})
	}
	c.Write(b[300:])
	got := sink.waitLines(t, 100)
	for i, l := range got {
		if !strings.HasSuffix(l, fmt.Sprintf(": line %d\n", i)) {
			t.Fatalf("line %d: %q", i, l)
		}
	}
	st := statsOf(t, in, "tcp://")
	if st.Datagrams != 100 || st.ConnsOpen != 1 || st.ConnsAccepted != 1 || st.Malformed != 0 {
		t.Errorf("stats %+v", st)
	}
}

// TestTCPOversizeFrameCutConnectionGoesOn: a frame over
// syslog.max_message_bytes is cut and counted, of either kind, and the
// frames after it arrive.
func TestTCPOversizeFrameCutConnectionGoesOn(t *testing.T) {
	in, sink, _ := serveIngest(t, Options{MaxMessageBytes: 480}, "tcp://127.0.0.1:0")
	c := dialTCP(t, tcpAddr(t, in))
	long := "<134>" + strings.Repeat("x", 2000)
	fmt.Fprintf(c, "%d %s%s\n%s\n", len(long), long, long, rawLine(7))
	got := sink.waitLines(t, 3)
	for i := range 2 {
		if len(got[i]) > 481+64 {
			t.Errorf("line %d: %d bytes, want it cut near 480", i, len(got[i]))
		}
	}
	if !strings.HasSuffix(got[2], ": line 7\n") {
		t.Errorf("line after the long ones: %q", got[2])
	}
	if st := statsOf(t, in, "tcp://"); st.Oversize != 2 || st.ConnsOpen != 1 {
		t.Errorf("stats %+v, want 2 cut and the connection open", st)
	}
}

// TestTCPMalformedPrefixClosesThatConnection: a bad octet count closes
// its connection (counted); another connection and the UDP listener go on.
func TestTCPMalformedPrefixClosesThatConnection(t *testing.T) {
	in, sink, _ := serveIngest(t, Options{}, "tcp://127.0.0.1:0", fmt.Sprintf("udp://127.0.0.1:%d", testbed.FreeUDPPort(t)))
	good := dialTCP(t, tcpAddr(t, in))
	fmt.Fprintf(good, "%s\n", rawLine(0))
	sink.waitLines(t, 1)
	bad := dialTCP(t, tcpAddr(t, in))
	fmt.Fprintf(bad, "%s\n12x%s\n", rawLine(1), rawLine(2))
	waitClosed(t, bad)
	fmt.Fprintf(good, "%s\n", rawLine(3))
	sendTo(t, udpAddr(t, in))
	got := sink.waitLines(t, 4)
	if !strings.HasSuffix(got[1], ": line 1\n") {
		t.Errorf("the frame before the bad one: %q", got[1])
	}
	if st := statsOf(t, in, "tcp://"); st.Malformed != 1 || st.ConnsOpen != 1 || st.ConnsAccepted != 2 {
		t.Errorf("stats %+v", st)
	}
}

// heapInUse is the live heap after a collection.
func heapInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}

// TestTCPThousandConnections: past syslog.max_connections connections
// are closed at once and counted; memory stays bounded and the UDP
// listener and an open connection keep working.
func TestTCPThousandConnections(t *testing.T) {
	in, sink, _ := serveIngest(t, Options{MaxConnections: 64}, "tcp://127.0.0.1:0", fmt.Sprintf("udp://127.0.0.1:%d", testbed.FreeUDPPort(t)))
	addr := tcpAddr(t, in)
	first := dialTCP(t, addr)
	fmt.Fprintf(first, "%s\n", rawLine(0))
	sink.waitLines(t, 1)
	before := heapInUse()
	conns := make([]net.Conn, 0, 1000)
	for range 1000 {
		c, err := net.Dial("tcp", addr)
		if errors.Is(err, syscall.ECONNRESET) {
			continue // refused so fast the connect saw it
		}
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	deadline := time.Now().Add(10 * time.Second)
	var st ListenerStats
	for {
		st = statsOf(t, in, "tcp://")
		if st.ConnsAccepted+st.ConnsRefused == 1001 || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if st.ConnsOpen != 64 || st.ConnsRefused != 1001-64 {
		t.Errorf("stats %+v, want 64 open and %d refused", st, 1001-64)
	}
	if grew := int64(heapInUse()) - int64(before); grew > 32<<20 {
		t.Errorf("heap grew by %d bytes for 1,000 connections", grew)
	}
	fmt.Fprintf(first, "%s\n", rawLine(1))
	sendTo(t, udpAddr(t, in))
	sink.waitLines(t, 3)
}

// TestTCPHugeLengthPrefix: a 2 GB octet count costs no more memory than a
// frame buffer; the first max_message_bytes are kept, cut, and the rest
// discarded as it comes.
func TestTCPHugeLengthPrefix(t *testing.T) {
	in, sink, _ := serveIngest(t, Options{MaxMessageBytes: 4096}, "tcp://127.0.0.1:0", fmt.Sprintf("udp://127.0.0.1:%d", testbed.FreeUDPPort(t)))
	c := dialTCP(t, tcpAddr(t, in))
	before := heapInUse()
	fmt.Fprintf(c, "2147483648 <134>")
	chunk := bytes.Repeat([]byte("y"), 1<<20)
	for range 64 {
		if _, err := c.Write(chunk); err != nil {
			t.Fatal(err)
		}
	}
	sink.waitLines(t, 1)
	sendTo(t, udpAddr(t, in))
	sink.waitLines(t, 2)
	if grew := int64(heapInUse()) - int64(before); grew > 8<<20 {
		t.Errorf("heap grew by %d bytes for a 2 GB frame", grew)
	}
	if st := statsOf(t, in, "tcp://"); st.Oversize != 1 || st.ConnsOpen != 1 || st.Malformed != 0 {
		t.Errorf("stats %+v", st)
	}
}

// TestTCPHalfFrameThenStall: a sender that stops in the middle of a frame
// is closed after the idle timeout; meanwhile the others are served.
func TestTCPHalfFrameThenStall(t *testing.T) {
	in, sink, _ := serveIngest(t, Options{IdleTimeout: 300 * time.Millisecond}, "tcp://127.0.0.1:0")
	stall := dialTCP(t, tcpAddr(t, in))
	fmt.Fprintf(stall, "%s\n200 <134>half", rawLine(0))
	sink.waitLines(t, 1)
	other := dialTCP(t, tcpAddr(t, in))
	fmt.Fprintf(other, "%s\n", rawLine(1))
	sink.waitLines(t, 2)
	start := time.Now()
	waitClosed(t, stall)
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("stalled connection closed after %v, want about the idle timeout", d)
	}
	if st := statsOf(t, in, "tcp://"); st.Datagrams != 2 {
		t.Errorf("stats %+v", st)
	}
}

// TestTCPBinaryGarbage: random bytes are framed as lines (kept verbatim,
// as a UDP datagram of garbage would be) or close the connection when
// they look like a bad octet count; never more than a frame buffer of
// memory, and the other listeners keep working.
func TestTCPBinaryGarbage(t *testing.T) {
	in, sink, _ := serveIngest(t, Options{MaxMessageBytes: 1024}, "tcp://127.0.0.1:0", fmt.Sprintf("udp://127.0.0.1:%d", testbed.FreeUDPPort(t)))
	r := rand.New(rand.NewPCG(1, 2))
	garbage := make([]byte, 8<<20)
	for i := range garbage {
		garbage[i] = byte(r.Uint32())
	}
	garbage[0] = 0xff // not a digit: framed as lines until a bad octet count
	before := heapInUse()
	c := dialTCP(t, tcpAddr(t, in))
	c.Write(garbage)
	waitClosed(t, c)
	sendTo(t, udpAddr(t, in))
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if statsOf(t, in, "udp://").Datagrams == 1 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if st := statsOf(t, in, "udp://"); st.Datagrams != 1 {
		t.Errorf("udp listener: %+v", st)
	}
	if grew := int64(heapInUse()) - int64(before); grew > 8<<20 {
		t.Errorf("heap grew by %d bytes", grew)
	}
	st := statsOf(t, in, "tcp://")
	if st.Malformed != 1 || st.ConnsOpen != 0 {
		t.Errorf("stats %+v, want the connection closed as malformed", st)
	}
	_ = sink
}

// TestTCPShutdownDrains: at shutdown the agent tells the sender it is
// done (FIN) and reads what the sender had sent until it closes: every
// line written before the sender saw the FIN arrives.
func TestTCPShutdownDrains(t *testing.T) {
	in, sink, cancel := serveIngest(t, Options{}, "tcp://127.0.0.1:0")
	c := dialTCP(t, tcpAddr(t, in))
	sent := make(chan int)
	go func() {
		n := 0
		c.SetWriteDeadline(time.Now().Add(10 * time.Second))
		for {
			if _, err := fmt.Fprintf(c, "%s\n", rawLine(n)); err != nil {
				break
			}
			n++
			if n%1000 == 0 {
				// As HAProxy: on the agent's FIN, stop and close.
				c.SetReadDeadline(time.Now().Add(time.Millisecond)) // an expired deadline reads nothing
				if _, err := c.Read(make([]byte, 1)); errors.Is(err, io.EOF) {
					break
				}
			}
		}
		c.Close()
		sent <- n
	}()
	for sink.n() < 5000 {
		time.Sleep(time.Millisecond)
	}
	cancel()
	n := <-sent
	in.Wait()
	if got := sink.n(); got != n {
		t.Errorf("sent %d lines before the FIN, %d arrived", n, got)
	}
}

// TestTCPStopBoundedBySenderThatGoesOn: a sender that ignores the FIN
// and keeps sending holds a stop up for tcpDrainTime, not longer.
func TestTCPStopBoundedBySenderThatGoesOn(t *testing.T) {
	in, sink, cancel := serveIngest(t, Options{}, "tcp://127.0.0.1:0")
	c := dialTCP(t, tcpAddr(t, in))
	go func() {
		for i := 0; ; i++ {
			if _, err := fmt.Fprintf(c, "%s\n", rawLine(i)); err != nil {
				return
			}
			time.Sleep(100 * time.Microsecond)
		}
	}()
	for sink.n() < 10 {
		time.Sleep(time.Millisecond)
	}
	start := time.Now()
	cancel()
	in.Wait()
	if d := time.Since(start); d > tcpDrainTime+time.Second {
		t.Errorf("stop took %v with a sender that goes on, want about %v", d, tcpDrainTime)
	}
}
