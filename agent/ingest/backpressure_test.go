package ingest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"regexp"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/elb-access-logger/elb-access-logger/agent/spool"
	"github.com/elb-access-logger/elb-access-logger/agent/spool/spooltest"
)

// TestTCPBackPressureOnFullDisk: while the disk is full and the spool's
// buffer has filled, a tcp:// connection reads nothing more, so the sender
// waits (HAProxy: its ring holds the lines); once space returns every
// line reaches the spool, once, and none is counted dropped.
func TestTCPBackPressureOnFullDisk(t *testing.T) {
	ffs := &spooltest.FaultFS{}
	dir := t.TempDir()
	sp, err := spool.Open(dir, func(after time.Time) time.Time { return after.Truncate(time.Hour).Add(time.Hour) }, time.Now(), ffs)
	if err != nil {
		t.Fatal(err)
	}
	defer sp.Close()
	ffs.Set(syscall.ENOSPC, 0)

	in, err := New(sp, Options{Format: "raw", Enabled: true, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Lost: func(err error) bool { return errors.Is(err, spool.ErrBufferFull) }})
	if err != nil {
		t.Fatal(err)
	}
	if err := in.Bind([]string{"tcp://127.0.0.1:0"}); err != nil {
		t.Fatal(err)
	}
	// Small socket buffers at both ends (an accepted connection takes
	// the listener's, and a set size is not autotuned up to
	// net.ipv4.tcp_rmem's maximum), so that what the kernel holds is
	// known whatever the machine's settings.
	rc, err := in.bound()[0].(*tcpListener).ln.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	rc.Control(func(fd uintptr) { syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 64<<10) })
	ctx, cancel := context.WithCancel(context.Background())
	in.Serve(ctx)
	defer func() { cancel(); in.Wait(); in.Close() }()

	c := dialTCP(t, tcpAddr(t, in))
	c.(*net.TCPConn).SetWriteBuffer(32 << 10)
	// 9.6 MB of frames: twice the spool's 4 MiB buffer and the kernel's
	// socket buffers (a few hundred KB) together.
	const n = 30000
	pad := fmt.Sprintf("%0300d", 0)
	var written atomic.Int64
	done := make(chan error, 1)
	go func() {
		w := bufio.NewWriterSize(c, 16<<10)
		for i := range n {
			msg := rawLine(i) + " " + pad
			if _, err := fmt.Fprintf(w, "%d %s", len(msg), msg); err != nil {
				done <- err
				return
			}
			written.Store(int64(i + 1))
		}
		done <- w.Flush()
	}()

	// The sender stalls: the connection is no longer read.
	last, still := int64(-1), 0
	for deadline := time.Now().Add(30 * time.Second); still < 5; time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the sender never stalled: %d of %d lines written", written.Load(), n)
		}
		select {
		case err := <-done:
			t.Fatalf("the sender wrote all %d lines while the disk was full (err %v): nothing held it back", n, err)
		default:
		}
		if w := written.Load(); w == last {
			still++
		} else {
			last, still = w, 0
		}
	}
	st := in.Stats()
	if st.Held == 0 {
		t.Errorf("Held = 0 while the spool refused lines")
	}
	if got := sp.Stats().DroppedLines; got != 0 {
		t.Fatalf("the spool counted %d lines dropped while the sender could wait", got)
	}
	received := statsOf(t, in, "tcp://").Datagrams
	time.Sleep(300 * time.Millisecond)
	if again := statsOf(t, in, "tcp://").Datagrams; again != received {
		t.Fatalf("frames read went on while the line was held: %d, then %d", received, again)
	}

	// Space returns; the Clock's Sync writes the buffer out and the held
	// line, then the rest, are taken.
	ffs.Set(nil, 0)
	for deadline := time.Now().Add(60 * time.Second); ; {
		if err := sp.Sync(); err != nil {
			t.Fatalf("Sync once space returned: %v", err)
		}
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(50 * time.Millisecond):
			if time.Now().After(deadline) {
				t.Fatalf("after space returned only %d of %d lines were written", written.Load(), n)
			}
			continue
		}
		break
	}
	c.Close()
	for deadline := time.Now().Add(30 * time.Second); statsOf(t, in, "tcp://").Datagrams < n; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d frames read", statsOf(t, in, "tcp://").Datagrams, n)
		}
	}
	cancel()
	in.Wait()
	if err := sp.SealEarly(time.Now()); err != nil {
		t.Fatal(err)
	}
	segs, err := sp.Sealed()
	if err != nil {
		t.Fatal(err)
	}
	seen := make([]int, n)
	re := regexp.MustCompile(`line (\d+) `)
	for _, seg := range segs {
		f, err := os.Open(seg.Path)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			m := re.FindStringSubmatch(sc.Text())
			if m == nil {
				t.Fatalf("%s: line %q", seg.Path, sc.Text())
			}
			i, _ := strconv.Atoi(m[1])
			seen[i]++
		}
		f.Close()
	}
	for i, k := range seen {
		if k != 1 {
			t.Fatalf("line %d is in the spool %d times, want once", i, k)
		}
	}
	if got := sp.Stats().DroppedLines; got != 0 {
		t.Errorf("DroppedLines %d, want 0", got)
	}
	var counted int64
	for _, k := range in.Stats().Lines {
		counted += k
	}
	if counted != n {
		t.Errorf("ingest counted %d lines spooled, want %d: each once", counted, n)
	}
}
