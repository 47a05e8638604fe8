package main

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/elb-access-logger/elb-access-logger/internal/testbed"
)

// TestRingRestartLosesNothing runs the real binary behind the bed's real
// HAProxy logging through a ring to syslog.listen = tcp://: the agent is
// stopped (SIGTERM) and started again in the middle of a stream of
// requests, and the bucket ends up with the log of every request, once.
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
	startAgent(t, props)
	if err := <-done; err != nil {
		t.Fatal(err)
	}

	re := regexp.MustCompile(`GET /n/(\d{4}) `)
	owner := bed.S3(bed.LBOwner)
	deadline := time.Now().Add(60 * time.Second)
	for {
		lines, _ := bucketLines(t, owner, bucket)
		seen := map[string]int{}
		for _, l := range lines {
			if m := re.FindStringSubmatch(l); m != nil {
				seen[m[1]]++
			}
		}
		dups := 0
		for _, c := range seen {
			dups += c - 1
		}
		if len(seen) == n && dups == 0 {
			return
		}
		if time.Now().After(deadline) || dups > 0 {
			t.Fatalf("the bucket holds %d of %d requests' lines (%d duplicated, %d lines)", len(seen), n, dups, len(lines))
		}
		time.Sleep(time.Second)
	}
}
