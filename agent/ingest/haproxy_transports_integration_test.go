package ingest

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/elb-access-logger/elb-access-logger/internal/testbed"
)

// elbSink counts the lines appended and those the parser did not know
// (kept verbatim).
type elbSink struct {
	mu              sync.Mutex
	lines, unparsed int
	first           string
}

func (s *elbSink) AppendCounted(line []byte, unparsed, _ bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lines == 0 {
		s.first = string(line)
	}
	s.lines++
	if unparsed {
		s.unparsed++
	}
	return nil
}

func (s *elbSink) counts() (lines, unparsed int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lines, s.unparsed
}

// snippetHTTPFormat is the elb-http log-format line of the shipped
// HAProxy snippet.
func snippetHTTPFormat(t *testing.T) string {
	t.Helper()
	f, err := os.Open("../../packaging/haproxy/elb-access-logger.cfg")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); strings.HasPrefix(l, `log-format "elb-http `) {
			return l
		}
	}
	t.Fatal("no elb-http log-format in the snippet")
	return ""
}

// startHAProxy runs the bed's HAProxy with an HTTP frontend answering 200
// itself and logging with log (a global "log" line; extra is appended,
// such as a ring section). It returns the frontend's address and
// HAProxy's stats socket.
func startHAProxy(t *testing.T, env testbed.Env, log, extra string) (fe, stats string) {
	t.Helper()
	fe = testbed.FreeTCPAddr(t)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "haproxy.cfg")
	stats = filepath.Join(dir, "admin.sock")
	conf := fmt.Sprintf(`global
    stats socket %s mode 600 level user
    %s
defaults
    log global
    mode http
    option dontlognull
    timeout connect 2s
    timeout client 5s
    timeout server 5s
frontend fe
    bind %s
    capture request header Host len 255
    capture request header User-Agent len 8192
    %s
    http-request return status 200
%s`, stats, log, fe, snippetHTTPFormat(t), extra)
	if err := os.WriteFile(cfg, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(env.HAProxy, "-c", "-f", cfg).CombinedOutput(); err != nil {
		t.Fatalf("haproxy -c: %v\n%s", err, out)
	}
	cmd := exec.Command(env.HAProxy, "-f", cfg, "-db")
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.Dial("tcp", fe)
		if err == nil {
			c.Close()
			return fe, stats
		}
		if time.Now().After(deadline) {
			t.Fatalf("HAProxy not listening on %s: %v", fe, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// startELBIngest serves addr in the elb format into a new sink.
func startELBIngest(t *testing.T, addr string) (*Ingest, *elbSink, context.CancelFunc) {
	t.Helper()
	sink := &elbSink{}
	in, err := New(sink, Options{Format: "elb", LBName: "lb", Enabled: true, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if err := in.Bind([]string{addr}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	in.Serve(ctx)
	var once sync.Once
	stop := func() { once.Do(func() { cancel(); in.Wait(); in.Close() }) }
	t.Cleanup(stop)
	return in, sink, stop
}

// waitSink waits until the lines and the logs HAProxy could not send
// (DroppedLogs) add up to n; every line must be an ELB line. It returns
// DroppedLogs.
func waitSink(t *testing.T, sink *elbSink, stats string, n int) int {
	t.Helper()
	ctx := testbed.Context(t, 40*time.Second)
	deadline := time.Now().Add(30 * time.Second)
	for {
		dropped, err := haproxyDroppedLogs(ctx, stats)
		if err != nil {
			t.Fatal(err)
		}
		lines, unparsed := sink.counts()
		if lines+int(dropped) >= n || time.Now().After(deadline) {
			if lines+int(dropped) != n || unparsed != 0 {
				t.Fatalf("%d lines (%d not ELB lines) and %d dropped by HAProxy, want %d ELB lines; first: %q", lines, unparsed, dropped, n, sink.first)
			}
			return int(dropped)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestHAProxyOverEachTransport: requests through the bed's real HAProxy
// arrive as ELB lines over UDP, a unix datagram socket and a ring + TCP.
func TestHAProxyOverEachTransport(t *testing.T) {
	env := testbed.RequireHAProxy(t)
	sockPath := filepath.Join(t.TempDir(), "haproxy.sock")
	tcpAddr := testbed.FreeTCPAddr(t)
	udpAddr := fmt.Sprintf("127.0.0.1:%d", testbed.FreeUDPPort(t))
	for _, tt := range []struct{ name, listen, log, extra string }{
		{"udp", "udp://" + udpAddr, "log " + udpAddr + " len 65535 local3 info", ""},
		{"unix", "unix://" + sockPath, "log " + sockPath + " len 65535 local3 info", ""},
		{"ring+tcp", "tcp://" + tcpAddr, "log ring@agent len 65535 local3 info", testbed.HAProxyRing("agent", tcpAddr)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, sink, _ := startELBIngest(t, tt.listen)
			fe, stats := startHAProxy(t, env, tt.log, tt.extra)
			const requests = 200
			var sent atomic.Int64
			if err := <-testbed.Requests(fe, requests, 0, &sent); err != nil {
				t.Fatal(err)
			}
			// Unix: a full queue (net.unix.max_dgram_qlen, 10 by the
			// kernel's default) fails HAProxy's send, which HAProxy
			// counts; on a loaded machine some go that way, but every
			// log is either a line or counted. UDP (8 MiB buffer) and
			// the ring lose none.
			dropped := waitSink(t, sink, stats, requests)
			if tt.name != "unix" && dropped != 0 {
				t.Errorf("HAProxy dropped %d of %d logs", dropped, requests)
			}
			t.Logf("%s: HAProxy dropped %d of %d logs", tt.name, dropped, requests)
		})
	}
}

// TestHAProxyRingSurvivesAgentRestart: with a ring + TCP, an agent
// stopped and started again in the middle of a stream of requests loses
// nothing: HAProxy's ring holds what the agent could not take meanwhile,
// every message either listener read reached its sink, and no more is
// missing than HAProxy itself may lose when it re-establishes the
// connection (haproxy/haproxy#3153, docs/durability.md).
func TestHAProxyRingSurvivesAgentRestart(t *testing.T) {
	env := testbed.RequireHAProxy(t)
	addr := testbed.FreeTCPAddr(t)
	in1, first, stopFirst := startELBIngest(t, "tcp://"+addr)
	fe, stats := startHAProxy(t, env, "log ring@agent len 65535 local3 info", testbed.HAProxyRing("agent", addr))
	var sent atomic.Int64
	done := testbed.Requests(fe, 3000, 0, &sent)
	for sent.Load() < 500 {
		time.Sleep(5 * time.Millisecond)
	}
	stopFirst()
	atStop, _ := first.counts()
	time.Sleep(500 * time.Millisecond) // requests go on; HAProxy's ring holds their logs
	in2, second, _ := startELBIngest(t, "tcp://"+addr)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	n := int(sent.Load())
	deadline := time.Now().Add(30 * time.Second)
	for {
		a, ua := first.counts()
		b, ub := second.counts()
		if a+b >= n || time.Now().After(deadline) {
			read1, read2 := received(in1), received(in2)
			if lost := n - (a + b); lost < 0 || lost > ringReconnectLoss || a != int(read1) || b != int(read2) || ua+ub != 0 {
				dropped, err := haproxyDroppedLogs(testbed.Context(t, 5*time.Second), stats)
				t.Fatalf("%d requests; the first agent read %d messages and got %d lines (%d at its stop), the second read %d and got %d; %d not ELB lines; HAProxy DroppedLogs %d (%v); want every message read a line, at most %d missing", n, read1, a, atStop, read2, b, ua+ub, dropped, err, ringReconnectLoss)
			}
			t.Logf("%d requests: %d lines before the restart, %d after, %d lost inside HAProxy at its reconnect", n, a, b, n-(a+b))
			if dropped, err := haproxyDroppedLogs(testbed.Context(t, 5*time.Second), stats); err != nil || dropped != 0 {
				t.Errorf("HAProxy DroppedLogs %d (%v), want 0", dropped, err)
			}
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// ringReconnectLoss is how many messages HAProxy's ring may lose when it
// re-establishes a TCP syslog connection: messages it had taken from the
// ring for the closed connection (haproxy/haproxy#3153).
const ringReconnectLoss = 2

// received is how many messages in's listeners read.
func received(in *Ingest) uint64 {
	var n uint64
	for _, l := range in.Stats().Listeners {
		n += l.Received
	}
	return n
}
