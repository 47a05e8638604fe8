package main

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/elb-access-logger/elb-access-logger/internal/testbed"
)

// TestBigWindowReachesTheBucketInPieces runs the real binary with a spool
// bound (24 MiB) smaller than one window's lines (40 MB), in front of a
// store that refuses any PUT body over 5.5 MiB: the open window is sealed and uploaded
// in pieces while lines arrive, nothing is evicted, the spool stays within
// its bound, pieces larger than the store takes in one PUT go in parts,
// and the bucket holds every line once.
func TestBigWindowReachesTheBucketInPieces(t *testing.T) {
	bed := testbed.Require(t)
	store := testbed.NewLimitProxy(t, bed.S3Endpoint, 11<<19)
	addr := testbed.FreeTCPAddr(t)
	lb := "pieces-" + randomSuffix(t)
	bucket := "access_logs-" + lb + "_127.0.0.1_5eed0003"
	t.Cleanup(func() { removeBucket(bed.S3(bed.Logger), bucket) })
	const maxBytes = 24 << 20 // pieces of 6 MiB: over what the store takes in one PUT
	props := bedProperties(t, bed, 1, "0 0 * * * *", lb, "i-5eed0003")
	props = strings.Replace(props, "syslog.listen = udp://127.0.0.1:1\n", "syslog.listen = tcp://"+addr+"\n", 1)
	props = strings.Replace(props, "objectstorage.endpoint = "+bed.S3Endpoint+"\n", "objectstorage.endpoint = "+store.URL+"\n", 1)
	props += fmt.Sprintf("spool.max_bytes = %d\n", maxBytes)
	a := startAgent(t, props)
	url := metricsURL(t, a)

	// 200,000 lines of 200 bytes (40 MB), about 2.5 MB/s over TCP: a
	// loaded store on the same cores keeps up, so nothing need be evicted.
	const n, size = 200000, 200
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	var peak float64
	start := time.Now()
	sendNumbered(t, c, n, size, func(sent int) {
		peak = max(peak, sample(t, url, "elb_access_logger_spool_bytes"))
		if ahead := time.Duration(sent)*time.Second/12500 - time.Since(start); ahead > 0 {
			time.Sleep(ahead)
		}
	})
	metric := fmt.Sprintf(`elb_access_logger_datagrams_received_total{listener="tcp://%s"}`, addr)
	testbed.WaitFor(t, "every line read", func() bool {
		peak = max(peak, sample(t, url, "elb_access_logger_spool_bytes"))
		return sample(t, url, metric) == n
	})
	c.Close()
	if ev := sample(t, url, "elb_access_logger_segments_evicted_total"); ev != 0 {
		t.Errorf("%v segments evicted with the store up", ev)
	}
	if p := sample(t, url, "elb_access_logger_window_pieces_total"); p < 3 {
		t.Errorf("window_pieces_total %v, want >= 3 (40 MB in pieces of 6 MiB)", p)
	}
	hwm := peakRSS(t, a.cmd.Process.Pid)
	t.Logf("agent peak RSS %.1f MiB", float64(hwm)/(1<<20))
	if hwm > 64<<20 {
		t.Errorf("peak RSS %d MiB, over 64 MiB: pieces must be read from the spool, never held whole", hwm>>20)
	}
	a.stop(t) // seals the last piece and uploads it

	if peak > maxBytes {
		t.Errorf("spool peaked at %.0f bytes, over spool.max_bytes %d", peak, maxBytes)
	}
	lines, keys := bucketLines(t, bed.S3(bed.LBOwner), bucket)
	seen, dups := countNumbered(lines)
	if seen != n || dups != 0 || len(lines) != n {
		t.Errorf("the bucket holds %d of %d lines (%d duplicated, %d lines in all)", seen, n, dups, len(lines))
	}
	if len(keys) < 3 {
		t.Errorf("%d objects (%v): want the window in pieces of about 6 MiB", len(keys), keys)
	}
	if got := store.Counts(); !strings.HasPrefix(got, "refused 1,") || strings.HasSuffix(got, "parts 0") {
		t.Errorf("store saw %s: want one PUT refused as too large, then parts", got)
	}
}

// peakRSS returns the peak resident set size of process pid (VmHWM).
func peakRSS(t *testing.T, pid int) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Logf("peak RSS not checked: %v", err)
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				t.Fatalf("VmHWM %q: %v", v, err)
			}
			return kb << 10
		}
	}
	t.Fatalf("no VmHWM in /proc/%d/status", pid)
	return 0
}

// sendNumbered sends n syslog lines of size bytes, numbered "request
// NNNNNNN", over the TCP connection c as LF-delimited frames. Every 12,500
// lines it flushes them and calls tick (when not nil) with the count sent,
// which may pace the sender.
func sendNumbered(t *testing.T, c net.Conn, n, size int, tick func(sent int)) {
	t.Helper()
	w := bufio.NewWriterSize(c, 64<<10)
	pad := strings.Repeat("x", size)
	for i := range n {
		line := fmt.Sprintf("<134>Dec  5 03:00:00 haproxy[1]: request %07d ", i)
		fmt.Fprintf(w, "%s%s\n", line, pad[:size-len(line)-1])
		if tick != nil && i%12500 == 12499 {
			if err := w.Flush(); err != nil {
				t.Fatal(err)
			}
			tick(i + 1)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
}

var numberedRE = regexp.MustCompile(`request (\d{7}) `)

// countNumbered counts the distinct numbered lines of sendNumbered among
// lines, and how many of them came more than once.
func countNumbered(lines []string) (distinct, dups int) {
	seen := map[string]int{}
	for _, l := range lines {
		if m := numberedRE.FindStringSubmatch(l); m != nil {
			seen[m[1]]++
		}
	}
	for _, c := range seen {
		dups += c - 1
	}
	return len(seen), dups
}
