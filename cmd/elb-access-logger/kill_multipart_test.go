package main

import (
	"fmt"
	"net"
	"net/url"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/elb-access-logger/elb-access-logger/internal/testbed"
)

// TestKill9DuringMultipartUpload kills the agent (SIGKILL) while the store
// holds the answer to part 2 of a piece going up in parts: the store has
// two parts of an upload the agent will never finish. The next agent
// aborts that upload, sends the piece again, and the bucket ends with every
// line once and no upload left in progress.
func TestKill9DuringMultipartUpload(t *testing.T) {
	bed := testbed.Require(t)
	u, err := url.Parse(bed.S3Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	proxy := newStoreProxy(t, u.Host)
	addr := testbed.FreeTCPAddr(t)
	lb := "killparts-" + randomSuffix(t)
	bucket := "access_logs-" + lb + "_127.0.0.1_5eed0004"
	t.Cleanup(func() { removeBucket(bed.S3(bed.Logger), bucket) })
	props := bedProperties(t, bed, 1, "0 0 * * * *", lb, "i-5eed0004")
	props = strings.Replace(props, "syslog.listen = udp://127.0.0.1:1\n", "syslog.listen = tcp://"+addr+"\n", 1)
	props = strings.Replace(props, "objectstorage.endpoint = "+bed.S3Endpoint+"\n", "objectstorage.endpoint = "+proxy.URL()+"\n", 1)
	// Pieces of 12 MiB (a quarter of the bound), sent in parts of 5 MiB.
	props += fmt.Sprintf("spool.max_bytes = %d\nobjectstorage.part_size_bytes = %d\n", 48<<20, 5<<20)
	first := startAgent(t, props)
	url1 := metricsURL(t, first)
	proxy.armTrap([]byte("partNumber=2"))

	// 14 MB of numbered lines: one piece of 12 MiB, the rest in the window.
	const n, size = 70000, 200
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	sendNumbered(t, c, n, size, nil)
	metric := fmt.Sprintf(`elb_access_logger_datagrams_received_total{listener="tcp://%s"}`, addr)
	testbed.WaitFor(t, "every line read", func() bool { return sample(t, url1, metric) == n })
	c.Close()
	select {
	case <-proxy.held:
	case <-time.After(30 * time.Second):
		t.Fatalf("part 2 of a piece never went up:\n%s", first.stderr.String())
	}
	time.Sleep(2 * time.Second) // spool.fsync_interval (1 s): every line on disk
	first.cmd.Process.Signal(syscall.SIGKILL)
	<-first.done
	proxy.armTrap(nil)

	logger := bed.S3(bed.Logger)
	ctx := testbed.Context(t, time.Minute)
	ups, err := logger.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: aws.String(bucket)})
	if err != nil || len(ups.Uploads) != 1 {
		t.Fatalf("after the kill: %v uploads in progress (%v), want the one abandoned", len(ups.Uploads), err)
	}

	second := startAgent(t, props)
	url2 := metricsURL(t, second)
	testbed.WaitFor(t, "the piece uploaded again", func() bool {
		return sample(t, url2, "elb_access_logger_spool_segments") == 0
	})
	second.stop(t) // seals the rest of the window and uploads it

	lines, keys := bucketLines(t, bed.S3(bed.LBOwner), bucket)
	if seen, dups := countNumbered(lines); seen != n || dups != 0 || len(lines) != n {
		// One object or two: how much of the window the piece took
		// depends on when the clock got to cut it.
		t.Errorf("the bucket holds %d of %d lines (%d duplicated), %d lines in all, in %v", seen, n, dups, len(lines), keys)
	}
	ups, err = logger.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: aws.String(bucket)})
	if err != nil || len(ups.Uploads) != 0 {
		t.Errorf("uploads left in progress: %d (%v), want none: the abandoned one aborted", len(ups.Uploads), err)
	}
}
