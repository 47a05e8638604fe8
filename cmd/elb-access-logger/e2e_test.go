package main

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/elb-access-logger/elb-access-logger/internal/testbed"
)

// buildBinary builds the agent once per test binary run.
var buildBinary = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "elb-access-logger-bin-")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "elb-access-logger")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return bin, nil
})

func agentBinary(t *testing.T) string {
	t.Helper()
	bin, err := buildBinary()
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

// freeUDPPort returns a loopback UDP port that was free a moment ago.
func freeUDPPort(t *testing.T) int { return testbed.FreeUDPPort(t) }

func randomSuffix(t *testing.T) string {
	b := make([]byte, 4)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// runningAgent is the real binary started by a test.
type runningAgent struct {
	cmd    *exec.Cmd
	stderr *testbed.Buffer
	done   chan error
}

// launch starts bin with args, copying each line it logs to logs (after
// prefix). The returned channels report the exit and, once closed, that it
// listens.
func launch(t *testing.T, logs io.Writer, prefix, bin string, args ...string) (*exec.Cmd, chan error, chan struct{}) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	pr, pw := io.Pipe()
	cmd.Stderr = pw
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	listening := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		once := sync.Once{}
		for sc.Scan() {
			fmt.Fprintf(logs, "%s%s\n", prefix, sc.Text())
			if strings.Contains(sc.Text(), "msg=listening") {
				once.Do(func() { close(listening) })
			}
		}
		io.Copy(io.Discard, pr)
	}()
	go func() { done <- cmd.Wait(); pw.Close() }()
	return cmd, done, listening
}

// startAgent runs the binary with the property file text and waits until it
// listens.
func startAgent(t *testing.T, properties string) *runningAgent {
	t.Helper()
	cfg := filepath.Join(t.TempDir(), "access-log.properties")
	if err := os.WriteFile(cfg, []byte(properties), 0o600); err != nil {
		t.Fatal(err)
	}
	stderr := &testbed.Buffer{}
	cmd, done, listening := launch(t, stderr, "", agentBinary(t), "--config", cfg)
	a := &runningAgent{cmd: cmd, stderr: stderr, done: done}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			<-a.done
		}
		if t.Failed() {
			t.Logf("agent stderr:\n%s", stderr.String())
		}
	})
	select {
	case <-listening:
	case err := <-a.done:
		t.Fatalf("agent exited before listening: %v\n%s", err, stderr.String())
	case <-time.After(10 * time.Second):
		t.Fatalf("agent not listening after 10s:\n%s", stderr.String())
	}
	return a
}

// stop sends SIGTERM and waits for a clean exit.
func (a *runningAgent) stop(t *testing.T) {
	t.Helper()
	a.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-a.done:
		if err != nil {
			t.Fatalf("agent exit after SIGTERM: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("agent did not exit within 30s of SIGTERM")
	}
}

// bucketLines returns every line of every object in bucket, and the keys.
func bucketLines(t *testing.T, c *s3.Client, bucket string) (lines, keys []string) {
	t.Helper()
	ctx := testbed.Context(t, 30*time.Second)
	out, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(bucket)})
	if err != nil {
		return nil, nil // bucket not there yet
	}
	for _, o := range out.Contents {
		if !strings.HasPrefix(*o.Key, "elb-access-") {
			continue // the provisioning test file, AWSLogs/{account}/ELBAccessLogTestFile
		}
		keys = append(keys, *o.Key)
		obj, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: o.Key})
		if err != nil {
			t.Fatalf("get %s: %v", *o.Key, err)
		}
		body, err := io.ReadAll(obj.Body)
		obj.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		lines = append(lines, strings.Split(strings.TrimSuffix(string(body), "\n"), "\n")...)
	}
	return lines, keys
}

// bedProperties is the property file of an agent on the test bed: raw
// lines received on the loopback UDP port, windows on schedule, identity
// from the file (metadata off), uploads as logger granting lbowner READ.
func bedProperties(t *testing.T, bed testbed.Env, port int, schedule, lb, instanceID string) string {
	return fmt.Sprintf(`
syslog.listen = udp://127.0.0.1:%d
access_log.schedule = %s
access_log.format = raw
access_log.lb_name = %s
access_log.node_ip = 127.0.0.1
access_log.instance_id = %s
access_log.owner_account = lbowner
access_log.upload_spread = 0
spool.dir = %s
objectstorage.endpoint = %s
objectstorage.access_key_id = %s
objectstorage.secret_access_key = %s
metadata.endpoint =
metrics.listen = 127.0.0.1:0
`, port, schedule, lb, instanceID, t.TempDir(), bed.S3Endpoint, bed.Logger.AccessKey, bed.Logger.SecretKey)
}

// TestEndToEnd runs the real binary with ten-second windows against the
// test bed's radosgw: 1,000 numbered datagrams must end up in the bucket,
// each exactly once, in seed-layout objects.
func TestEndToEnd(t *testing.T) {
	bed := testbed.Require(t)
	port := freeUDPPort(t)
	lb := "e2e-" + randomSuffix(t)
	bucket := "access_logs-" + lb + "_127.0.0.1_5eed0001"
	t.Cleanup(func() { removeBucket(bed.S3(bed.Logger), bucket) })
	a := startAgent(t, bedProperties(t, bed, port, "*/10 * * * * *", lb, "i-5eed0001"))
	// Go code starts on one thread (procs.go).
	if !strings.Contains(a.stderr.String(), "msg=runtime gomaxprocs=1 ") {
		t.Errorf("agent log: want msg=runtime gomaxprocs=1 in\n%s", a.stderr.String())
	}

	conn, err := net.Dial("udp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	const n = 1000
	want := make([]string, 0, n)
	for i := 0; i < n; i++ {
		body := fmt.Sprintf(`httplog http-80 backend-http-80 http-80 200 -- 4 0 1 1 6 "GET /n/%04d?a=b:c HTTP/1.1" req_size=142 resp_size=241`, i)
		fmt.Fprintf(conn, "<158>Dec 11 05:05:36 haproxy[1070]: %s\n", body)
		want = append(want, "Dec 11 05:05:36 localhost haproxy[1070]: "+body)
		if i%100 == 99 {
			time.Sleep(50 * time.Millisecond)
		}
	}

	// Wait for at least one window to close and upload everything. The
	// load balancer owner reads the bucket: the grants must let it.
	owner := bed.S3(bed.LBOwner)
	deadline := time.Now().Add(60 * time.Second)
	for {
		lines, _ := bucketLines(t, owner, bucket)
		if len(lines) >= n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 60s the bucket holds %d of %d lines", len(lines), n)
		}
		time.Sleep(time.Second)
	}
	a.stop(t)

	lines, keys := bucketLines(t, owner, bucket)
	sort.Strings(lines)
	sort.Strings(want)
	if len(lines) != n {
		t.Fatalf("bucket holds %d lines, want %d", len(lines), n)
	}
	for i := range want {
		if lines[i] != want[i] {
			t.Fatalf("line %d:\n got %q\nwant %q", i, lines[i], want[i])
		}
	}
	for _, k := range keys {
		end, err := time.Parse("elb-access-02012006-150405.log", k)
		if err != nil {
			t.Errorf("key %q is not in the seed layout: %v", k, err)
		} else if end.Second()%10 != 0 {
			t.Errorf("key %q does not end on a ten-second boundary", k)
		}
	}
}
