package main

import (
	"bytes"
	"context"
	"github.com/elb-access-logger/elb-access-logger/agent/config"
	"github.com/elb-access-logger/elb-access-logger/agent/identity/identitytest"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/elb-access-logger/elb-access-logger/internal/testbed"
)

func writeProps(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "access-log.properties")
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestReplayDryRun replays a capture of stock HAProxy: stdout must be the
// ELB lines exactly as stored (the golden file), stderr the plan.
func TestReplayDryRun(t *testing.T) {
	props := writeProps(t, "access_log.lb_name = my-loadbalancer\naccess_log.owner_account = 123456789012\n"+
		"access_log.node_ip = 10.0.0.5\naccess_log.instance_id = i-315dd646\nmetadata.endpoint =\n")
	tests := []struct {
		capture, format, golden string
		stderr                  []string
	}{
		{"stock-httplog.log", "elb", "stock-httplog.elb", []string{"bucket: access_logs-my-loadbalancer_10.0.0.5_315dd646 ", "READ for 123456789012", `lifecycle: rule elb-access-logger-expiration expires the objects under prefix "elb-access-" after 30 days, and their incomplete multipart uploads after a day (other objects and rules kept)`, "storage: no server-side encryption asked (the bucket's default applies), the store's standard storage class", "preflight: write and read back AWSLogs/123456789012/ELBAccessLogTestFile", "lines: 7;", "unparsed (kept raw): 0;", "httplog: 7"}},
		{"handmade.log", "raw", "handmade.raw", []string{"lines: 9;", "unparsed (kept raw): 3;"}},
		{"elb-http-truncated-request.log", "json", "elb-http-truncated-request.json", []string{"unparsed (kept raw): 0; truncated: 6"}},
	}
	for _, tt := range tests {
		t.Run(tt.capture, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			cfg := writeProps(t, mustRead(t, props)+"access_log.format = "+tt.format+"\n")
			err := run(context.Background(), []string{"--config", cfg, "--replay", filepath.Join("../../testdata/haproxy", tt.capture), "--dry-run"}, &stdout, &stderr)
			if err != nil {
				t.Fatalf("run: %v\n%s", err, stderr.String())
			}
			want := mustRead(t, filepath.Join("../../testdata/golden", tt.golden))
			if tt.capture != "handmade.log" && stdout.String() != want {
				t.Errorf("stdout:\n got %s\nwant %s", stdout.String(), want)
			}
			if got := strings.Count(stdout.String(), "\n"); got != strings.Count(want, "\n") {
				t.Errorf("stdout lines: got %d, want %d", got, strings.Count(want, "\n"))
			}
			for _, s := range tt.stderr {
				if !strings.Contains(stderr.String(), s) {
					t.Errorf("stderr: want %q in\n%s", s, stderr.String())
				}
			}
		})
	}
}

func TestReplayUsage(t *testing.T) {
	props := writeProps(t, "metadata.endpoint =\nspool.dir = "+t.TempDir()+"\n")
	tests := []struct {
		name string
		args []string
	}{
		{"no identity and no metadata", []string{"--config", props, "--replay", "../../testdata/haproxy/stock-tcplog.log"}},
		{"missing file", []string{"--config", props, "--replay", "/nonexistent/capture.log", "--dry-run"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := run(context.Background(), tt.args, &stdout, &stderr)
			if got := exitCode(err); got != exitUsage {
				t.Errorf("exit code: got %d (%v), want %d", got, err, exitUsage)
			}
		})
	}
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestReplayStdin: "-" reads the capture from stdin; bare HAProxy bodies
// (no syslog header) are accepted, blank lines skipped.
func TestReplayStdin(t *testing.T) {
	cfg, err := config.LoadConfig(writeProps(t, "access_log.lb_name = lb\naccess_log.owner_account = 123456789012\n"+
		"access_log.node_ip = 10.0.0.5\naccess_log.instance_id = i-315dd646\nmetadata.endpoint =\n"), true)
	if err != nil {
		t.Fatal(err)
	}
	in := "elb-tcp 25/Nov/2026:17:16:40.626 10.0.0.1:34856 10.0.0.2:443 10.0.0.3:9000 ssl~ be/s1 1/1/3 6 7 -- AES TLSv1.2\n\n" +
		"127.0.0.1:43126 [25/Nov/2026:17:16:40.616] fe be/s1 0/0/0/1/1 200 123 - - ---- 1/1/0/0/0 0/0 \"GET / HTTP/1.1\"\n"
	want := "2026-11-25T17:16:40.626000Z lb 10.0.0.1:34856 10.0.0.3:9000 0.001000 0.001000 0.001000 - - 6 7 \"- - - \" \"-\" AES TLSv1.2\n" +
		"2026-11-25T17:16:40.616000Z lb 127.0.0.1:43126 - 0.000000 0.001000 0.000000 200 200 - 123 \"GET / HTTP/1.1\" \"-\" - -\n"
	var stdout, stderr bytes.Buffer
	if err := runReplay(context.Background(), cfg, replayOptions{File: "-", DryRun: true}, strings.NewReader(in), &stdout, &stderr); err != nil {
		t.Fatal(err)
	}
	if stdout.String() != want {
		t.Errorf("stdout:\n got %q\nwant %q", stdout.String(), want)
	}
	if !strings.Contains(stderr.String(), "bucket: access_logs-lb_10.0.0.5_315dd646 ") {
		t.Errorf("stderr: want the bucket of the identity, got\n%s", stderr.String())
	}
}

// TestReplayUpload replays a stock HAProxy capture into the test bed's
// radosgw; the load balancer's owner then reads back exactly the ELB lines
// a dry run prints.
func TestReplayUpload(t *testing.T) {
	env := testbed.Require(t)
	suffix := strconv.FormatInt(time.Now().UnixNano()%1e9, 36)
	props := writeProps(t, "access_log.lb_name = my-loadbalancer\naccess_log.owner_account = "+env.LBOwner.Name+"\n"+
		"access_log.node_ip = 10.0.0.5\naccess_log.instance_id = i-315dd646\nmetadata.endpoint =\n"+
		"access_log.bucket = replay-test-"+suffix+"-{lb_name}-{instance_num}\nspool.dir = "+t.TempDir()+"\n"+
		"objectstorage.endpoint = "+env.S3Endpoint+"\nobjectstorage.access_key_id = "+env.Logger.AccessKey+"\n"+
		"objectstorage.secret_access_key = "+env.Logger.SecretKey+"\n")
	bucket := "replay-test-" + suffix + "-my-loadbalancer-315dd646"
	ctx := testbed.Context(t, time.Minute)
	logger := env.S3(env.Logger)
	t.Cleanup(func() {
		ctx := context.Background()
		list, err := logger.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(bucket)})
		if err == nil {
			for _, o := range list.Contents {
				logger.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: o.Key})
			}
		}
		logger.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String(bucket)})
	})

	capture := "../../testdata/haproxy/stock-httplog.log"
	var dry, dryErr bytes.Buffer
	if err := run(ctx, []string{"--config", props, "--replay", capture, "--dry-run"}, &dry, &dryErr); err != nil {
		t.Fatalf("dry run: %v\n%s", err, dryErr.String())
	}
	var stdout, stderr bytes.Buffer
	if err := run(ctx, []string{"--config", props, "--replay", capture}, &stdout, &stderr); err != nil {
		t.Fatalf("replay: %v\n%s", err, stderr.String())
	}
	if stdout.Len() != 0 {
		t.Errorf("stdout of an upload: got %q, want nothing", stdout.String())
	}
	var key string
	for _, line := range strings.Split(stderr.String(), "\n") {
		if rest, ok := strings.CutPrefix(line, "object: "); ok {
			key, _, _ = strings.Cut(rest, " ")
		}
	}
	if !strings.HasPrefix(key, "elb-access-") {
		t.Fatalf("no object key in the plan:\n%s", stderr.String())
	}
	obj, err := env.S3(env.LBOwner).GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		t.Fatalf("lbowner GetObject %s/%s: %v", bucket, key, err)
	}
	defer obj.Body.Close()
	got, err := io.ReadAll(obj.Body)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != dry.String() {
		t.Errorf("object:\n got %s\nwant (dry run) %s", got, dry.String())
	}
	if want := mustRead(t, "../../testdata/golden/stock-httplog.elb"); string(got) != want {
		t.Errorf("object:\n got %s\nwant (golden) %s", got, want)
	}
	head, err := env.S3(env.LBOwner).HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		t.Fatalf("lbowner HeadObject: %v", err)
	}
	if got, want := head.Metadata["lines"], strconv.Itoa(strings.Count(string(got), "\n")); got != want {
		t.Errorf("x-amz-meta-lines: got %q, want %s (metadata %v)", got, want, head.Metadata)
	}
	if got := head.Metadata["counts"]; got != "complete" {
		t.Errorf("x-amz-meta-counts: got %q, want complete", got)
	}
}

// TestReplayFailsUnlessUploaded: a replay whose store cannot be reached
// exits 1 and does not claim an upload.
func TestReplayFailsUnlessUploaded(t *testing.T) {
	props := writeProps(t, "access_log.lb_name = my-loadbalancer\naccess_log.owner_account = 123456789012\n"+
		"access_log.node_ip = 10.0.0.5\naccess_log.instance_id = i-315dd646\nmetadata.endpoint =\nspool.dir = "+t.TempDir()+"\n"+
		"objectstorage.endpoint = http://127.0.0.1:1\nobjectstorage.access_key_id = AKID\nobjectstorage.secret_access_key = not-used\n")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var stdout, stderr bytes.Buffer
	err := run(ctx, []string{"--config", props, "--replay", "../../testdata/haproxy/stock-httplog.log"}, &stdout, &stderr)
	if got := exitCode(err); got != exitRuntime {
		t.Fatalf("exit code: got %d (%v), want %d", got, err, exitRuntime)
	}
	if strings.Contains(stderr.String(), "uploaded") {
		t.Errorf("stderr claims an upload:\n%s", stderr.String())
	}
}

// TestReplayIdentityFromMetadata: on a node whose identity comes from
// instance metadata, the dry-run plan names the bucket and the owner from
// it, as the agent would (issue 16, item 12).
func TestReplayIdentityFromMetadata(t *testing.T) {
	srv := httptest.NewServer(&identitytest.FakeIMDS{Values: identitytest.EucaValues(), TokenStatus: http.StatusOK})
	defer srv.Close()
	props := writeProps(t, "access_log.bucket = logs-{lb_name}-{instance_num}\nmetadata.endpoint = "+srv.URL+"\nspool.dir = "+t.TempDir()+"\n")
	var stdout, stderr bytes.Buffer
	if err := run(context.Background(), []string{"--config", props, "--replay", "../../testdata/haproxy/stock-httplog.log", "--dry-run"}, &stdout, &stderr); err != nil {
		t.Fatalf("run: %v\n%s", err, stderr.String())
	}
	for _, want := range []string{"bucket: logs-my-web-lb-315dd646 ", "READ for 123456789012", "object: elb-access-replay-"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("plan: want %q in\n%s", want, stderr.String())
		}
	}
}

// TestReplayOwnerCanonicalID: on AWS the owner's account names keys and
// its canonical id is the grantee; the plan shows the grantee.
func TestReplayOwnerCanonicalID(t *testing.T) {
	const canonical = "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be"
	props := writeProps(t, "access_log.lb_name = my-loadbalancer\naccess_log.owner_account = 123456789012\n"+
		"access_log.owner_canonical_id = "+canonical+"\naccess_log.node_ip = 10.0.0.5\naccess_log.instance_id = i-315dd646\n"+
		"metadata.endpoint =\nspool.dir = "+t.TempDir()+"\n")
	var stdout, stderr bytes.Buffer
	if err := run(context.Background(), []string{"--config", props, "--replay", "../../testdata/haproxy/stock-httplog.log", "--dry-run"}, &stdout, &stderr); err != nil {
		t.Fatalf("run: %v\n%s", err, stderr.String())
	}
	for _, want := range []string{"READ for " + canonical, "grants: READ id=" + canonical, "AWSLogs/123456789012/ELBAccessLogTestFile", "refused unless the uploader's account owns it"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("plan: want %q in\n%s", want, stderr.String())
		}
	}
}
