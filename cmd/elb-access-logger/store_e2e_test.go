package main

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/elb-access-logger/elb-access-logger/internal/testbed"
)

// slowDownProxy forwards to the bed's radosgw but answers the first PUT of
// a log object 503 SlowDown with Retry-After, and records when each such
// PUT arrived.
type slowDownProxy struct {
	mu   sync.Mutex
	puts []time.Time
}

func (p *slowDownProxy) start(t *testing.T, target string, retryAfter int) string {
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(u) // keeps the signed Host header
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/elb-access-") {
			p.mu.Lock()
			p.puts = append(p.puts, time.Now())
			first := len(p.puts) == 1
			p.mu.Unlock()
			if first {
				w.Header().Set("Retry-After", fmt.Sprint(retryAfter))
				w.Header().Set("Content-Type", "application/xml")
				w.WriteHeader(http.StatusServiceUnavailable)
				fmt.Fprint(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>`)
				return
			}
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func (p *slowDownProxy) times() []time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]time.Time(nil), p.puts...)
}

// TestBinaryHonoursRetryAfter: the store answers a segment's PUT 503
// SlowDown with Retry-After: 3. The agent is the one retry layer: exactly
// one PUT until the pause is over (the SDK's retryer used to send three
// within a second), then the segment is delivered.
func TestBinaryHonoursRetryAfter(t *testing.T) {
	bed := testbed.Require(t)
	port := freeUDPPort(t)
	lb := "ra-" + randomSuffix(t)
	bucket := "access_logs-" + lb + "_127.0.0.1_5eed0003"
	t.Cleanup(func() { removeBucket(bed.S3(bed.Logger), bucket) })
	proxy := &slowDownProxy{}
	endpoint := proxy.start(t, bed.S3Endpoint, 3)
	props := strings.Replace(bedProperties(t, bed, port, "*/2 * * * * *", lb, "i-5eed0003"),
		"objectstorage.endpoint = "+bed.S3Endpoint, "objectstorage.endpoint = "+endpoint, 1)
	a := startAgent(t, props)
	conn, err := net.Dial("udp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "<158>Dec 11 05:05:36 haproxy[1070]: one line\n")

	deadline := time.Now().Add(45 * time.Second)
	for len(proxy.times()) < 2 && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
	}
	puts := proxy.times()
	if len(puts) < 2 {
		t.Fatalf("log object PUTs: got %d in 45s, want the refused one and its retry", len(puts))
	}
	if gap := puts[1].Sub(puts[0]); gap < 3*time.Second {
		t.Errorf("second PUT %v after the 503 with Retry-After: 3, want at least 3s", gap.Round(time.Millisecond))
	}
	lines, _ := bucketLines(t, bed.S3(bed.LBOwner), bucket)
	for len(lines) < 1 && time.Now().Before(deadline) {
		time.Sleep(500 * time.Millisecond)
		lines, _ = bucketLines(t, bed.S3(bed.LBOwner), bucket)
	}
	if len(lines) != 1 {
		t.Errorf("bucket holds %d lines, want 1", len(lines))
	}
	a.stop(t)
}

// TestBinaryRefusesStrangersBucket: the stranger creates the agent's bucket
// first, even granting the logger full control. The agent refuses it:
// nothing is written there (objects, ACL, lifecycle), the failure is
// logged once and counted, and the sealed segments stay in the spool.
func TestBinaryRefusesStrangersBucket(t *testing.T) {
	bed := testbed.Require(t)
	ctx := testbed.Context(t, 2*time.Minute)
	port := freeUDPPort(t)
	lb := "sb-" + randomSuffix(t)
	bucket := "access_logs-" + lb + "_127.0.0.1_5eed0004"
	stranger := bed.S3(bed.Stranger)
	if _, err := stranger.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket),
		GrantFullControl: aws.String("id=" + bed.Stranger.Name + ",id=" + bed.Logger.Name)}); err != nil {
		t.Fatalf("stranger creates %s: %v", bucket, err)
	}
	t.Cleanup(func() { removeBucket(stranger, bucket) })
	acl, err := stranger.GetBucketAcl(ctx, &s3.GetBucketAclInput{Bucket: aws.String(bucket)})
	if err != nil {
		t.Fatal(err)
	}
	grantsBefore := len(acl.Grants)

	spool := t.TempDir()
	props := regexp.MustCompile(`(?m)^spool\.dir = .*$`).ReplaceAllString(
		bedProperties(t, bed, port, "*/2 * * * * *", lb, "i-5eed0004"), "spool.dir = "+spool)
	a := startAgent(t, props)
	murl := metricsURL(t, a)
	conn, err := net.Dial("udp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for i := 0; i < 3; i++ {
		fmt.Fprintf(conn, "<158>Dec 11 05:05:36 haproxy[1070]: line %d\n", i)
		time.Sleep(2500 * time.Millisecond) // a window each
	}
	deadline := time.Now().Add(30 * time.Second)
	for sample(t, murl, "elb_access_logger_provisioning_errors_total") < 1 && time.Now().Before(deadline) {
		time.Sleep(500 * time.Millisecond)
	}
	if v := sample(t, murl, "elb_access_logger_provisioning_errors_total"); v < 1 {
		t.Errorf("provisioning_errors_total: got %v, want at least 1", v)
	}
	time.Sleep(3 * time.Second) // more rounds, which must not log again
	a.stop(t)

	if n := strings.Count(a.stderr.String(), "owned by another account"); n != 1 {
		t.Errorf("the refusal is logged %d times, want once:\n%s", n, a.stderr.String())
	}
	sealed, _ := filepath.Glob(filepath.Join(spool, "window-*.log")) // sealed segments
	var kept int
	for _, f := range sealed {
		if fi, err := os.Stat(f); err == nil && fi.Size() > 0 {
			kept++
		}
	}
	if kept == 0 {
		t.Errorf("no segment kept in the spool %s", spool)
	}
	list, err := stranger.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(bucket)})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Contents) != 0 {
		t.Errorf("%d objects written into the stranger's bucket", len(list.Contents))
	}
	if acl, err := stranger.GetBucketAcl(ctx, &s3.GetBucketAclInput{Bucket: aws.String(bucket)}); err != nil || len(acl.Grants) != grantsBefore || aws.ToString(acl.Owner.ID) != bed.Stranger.Name {
		t.Errorf("the stranger's bucket ACL changed: %v", err)
	}
	if _, err := stranger.GetBucketLifecycleConfiguration(ctx, &s3.GetBucketLifecycleConfigurationInput{Bucket: aws.String(bucket)}); err == nil {
		t.Error("a lifecycle was put on the stranger's bucket")
	}
}
