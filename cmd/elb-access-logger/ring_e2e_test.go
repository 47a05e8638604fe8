package main

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/elb-access-logger/elb-access-logger/internal/testbed"
)

// TestRingRestartLosesNothing runs the real binary behind the bed's real
// HAProxy logging through a ring to syslog.listen = tcp://: the agent is
// stopped (SIGTERM) and started again in the middle of a stream of
// requests. Every message either agent read ends up in the bucket, once,
// and only HAProxy's own loss at a reconnect may be missing.
func TestRingRestartLosesNothing(t *testing.T) {
	bed := testbed.RequireHAProxy(t)
	agentAddr := testbed.FreeTCPAddr(t)
	lb := "ring-" + randomSuffix(t)
	bucket := "access_logs-" + lb + "_127.0.0.1_5eed0002"
	t.Cleanup(func() { removeBucket(bed.S3(bed.Logger), bucket) })
	props := bedProperties(t, bed, 1, "*/5 * * * * *", lb, "i-5eed0002")
	props = strings.Replace(props, "syslog.listen = udp://127.0.0.1:1\n", "syslog.listen = tcp://"+agentAddr+"\n", 1)
	first := startAgent(t, props)

	fe := testbed.FreeTCPAddr(t)
	cfg := filepath.Join(t.TempDir(), "haproxy.cfg")
	os.WriteFile(cfg, []byte(fmt.Sprintf(`global
    log ring@agent len 65535 local3 info
%sdefaults
    log global
    mode http
    option httplog
    option dontlognull
    timeout connect 2s
    timeout client 5s
    timeout server 5s
frontend fe
    bind %s
    http-request return status 200
`, testbed.HAProxyRing("agent", agentAddr), fe)), 0o600)
	hap := exec.Command(bed.HAProxy, "-f", cfg, "-db")
	if err := hap.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { hap.Process.Kill(); hap.Wait() })
	testbed.WaitFor(t, "HAProxy listening", func() bool {
		c, err := net.Dial("tcp", fe)
		if err == nil {
			c.Close()
		}
		return err == nil
	})

	const n = 2000
	var sent atomic.Int64
	done := testbed.Requests(fe, n, 200*time.Microsecond, &sent)
	testbed.WaitFor(t, "500 requests sent", func() bool { return sent.Load() >= 500 })
	first.stop(t)
	read1 := messagesRead(t, first)
	second := startAgent(t, props)
	if err := <-done; err != nil {
		t.Fatal(err)
	}

	// HAProxy sends the rest of its ring to the second agent; stop it when
	// all arrived, or nothing more did for two seconds.
	url := metricsURL(t, second)
	metric := fmt.Sprintf(`elb_access_logger_datagrams_received_total{listener="tcp://%s"}`, agentAddr)
	last, lastChange := -1, time.Now()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		got := int(sample(t, url, metric))
		if got != last {
			last, lastChange = got, time.Now()
		}
		if read1+got >= n || time.Since(lastChange) > 2*time.Second {
			break
		}
	}
	second.stop(t)
	read2 := messagesRead(t, second)

	// Every message an agent read is in the bucket, once; the stop uploaded
	// the last window.
	lines, _ := bucketLines(t, bed.S3(bed.LBOwner), bucket)
	re := regexp.MustCompile(`GET /n/(\d{4}) `)
	seen := map[string]int{}
	for _, l := range lines {
		if m := re.FindStringSubmatch(l); m != nil {
			seen[m[1]]++
		}
	}
	for k, c := range seen {
		if c > 1 {
			t.Errorf("request %s logged %d times in the bucket", k, c)
		}
	}
	if len(lines) != read1+read2 {
		t.Errorf("the bucket holds %d lines; the agents read %d and %d messages", len(lines), read1, read2)
	}
	// HAProxy's ring may lose up to two messages when its connection is
	// re-established (haproxy/haproxy#3153): they were never sent.
	if lost := n - len(seen); lost > maxRingReconnectLoss {
		t.Errorf("the bucket holds %d of %d requests' lines: %d lost, HAProxy loses at most %d at a reconnect",
			len(seen), n, lost, maxRingReconnectLoss)
	} else if lost > 0 {
		t.Logf("%d of %d lines lost inside HAProxy at its reconnect (read by neither agent)", lost, n)
	}
}

// maxRingReconnectLoss is how many messages HAProxy's ring may lose when it
// re-establishes a TCP syslog connection: messages it had taken from the
// ring for the closed connection (haproxy/haproxy#3153).
const maxRingReconnectLoss = 2

var messagesReadRE = regexp.MustCompile(`msg="listener drained and closed" component=ingest addr=tcp://\S+ messages_total=(\d+)`)

// messagesRead returns how many messages a stopped agent's tcp:// listener
// read, from the line it logs when it closed.
func messagesRead(t *testing.T, a *runningAgent) int {
	t.Helper()
	m := messagesReadRE.FindStringSubmatch(a.stderr.String())
	if m == nil {
		t.Fatalf("the agent did not log its listener's count at stop:\n%s", a.stderr.String())
	}
	n, _ := strconv.Atoi(m[1])
	return n
}
