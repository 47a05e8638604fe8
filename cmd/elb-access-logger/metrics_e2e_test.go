package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/elb-access-logger/elb-access-logger/internal/testbed"
)

var metricsAddrRE = regexp.MustCompile(`msg="metrics listening" addr=http://([0-9.:]+)/metrics`)

// metricsURL waits for the agent to log where it serves metrics.
func metricsURL(t *testing.T, a *runningAgent) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if m := metricsAddrRE.FindStringSubmatch(a.stderr.String()); m != nil {
			return "http://" + m[1]
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("agent did not log its metrics address:\n%s", a.stderr.String())
	return ""
}

// sample reads one sample of the text exposition at url, -1 if absent.
func sample(t *testing.T, url, name string) float64 {
	t.Helper()
	resp, err := http.Get(url + "/metrics")
	if err != nil {
		t.Fatalf("scrape: %v", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(body), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("%s: %q: %v", name, v, err)
			}
			return f
		}
	}
	return -1
}

// TestEndToEndMetricsAndObjectCounts runs the real binary against the
// test bed's radosgw: the metrics endpoint accounts for every datagram
// sent, and each object's x-amz-meta-* counts, read back by the load
// balancer owner with HeadObject, match the lines the object holds.
func TestEndToEndMetricsAndObjectCounts(t *testing.T) {
	bed := testbed.Require(t)
	port := freeUDPPort(t)
	lb := "metrics-" + randomSuffix(t)
	bucket := "access_logs-" + lb + "_127.0.0.1_5eed0003"
	t.Cleanup(func() { removeBucket(bed.S3(bed.Logger), bucket) })
	a := startAgent(t, bedProperties(t, bed, port, "*/5 * * * * *", lb, "i-5eed0003"))
	url := metricsURL(t, a)

	conn, err := net.Dial("udp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	const n, unparsed = 200, 20
	for i := range n {
		body := fmt.Sprintf(`httplog http-80 backend-http-80 http-80 200 -- 4 0 1 1 6 "GET /n/%04d HTTP/1.1" req_size=142 resp_size=241`, i)
		if i < unparsed {
			body = fmt.Sprintf("no haproxy format %d", i)
		}
		fmt.Fprintf(conn, "<158>Dec 11 05:05:36 haproxy[1070]: %s\n", body)
	}
	listener := fmt.Sprintf(`{listener="udp://127.0.0.1:%d"}`, port)
	deadline := time.Now().Add(60 * time.Second)
	for {
		recv := sample(t, url, "elb_access_logger_datagrams_received_total"+listener)
		drops := sample(t, url, "elb_access_logger_kernel_receive_drops_total"+listener)
		pending := sample(t, url, "elb_access_logger_spool_segments")
		if recv+drops == n && recv > 0 && pending == 0 && sample(t, url, "elb_access_logger_uploads_total") >= 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 60s: received %v + dropped %v of %d, %v segments pending", recv, drops, n, pending)
		}
		time.Sleep(250 * time.Millisecond)
	}
	if got := sample(t, url, `elb_access_logger_lines_total{format="unknown"}`); got != unparsed {
		t.Errorf(`lines_total{format="unknown"}: got %v, want %d`, got, unparsed)
	}
	if got := sample(t, url, `elb_access_logger_lines_total{format="recipe"}`); got != n-unparsed {
		t.Errorf(`lines_total{format="recipe"}: got %v, want %d`, got, n-unparsed)
	}
	resp, err := http.Get(url + "/healthz")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Errorf("healthz: %v %v, want 200", resp, err)
	} else {
		resp.Body.Close()
	}
	a.stop(t)

	owner := bed.S3(bed.LBOwner)
	ctx := testbed.Context(t, 30*time.Second)
	lines, keys := bucketLines(t, owner, bucket)
	if len(lines) != n {
		t.Fatalf("bucket holds %d lines, want %d", len(lines), n)
	}
	var sumLines, sumUnparsed int
	for _, k := range keys {
		head, err := owner.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(k)})
		if err != nil {
			t.Fatalf("head %s as the owner: %v", k, err)
		}
		objLines := bucketObjectLines(t, owner, bucket, k)
		md := head.Metadata
		if md["counts"] != "complete" {
			t.Errorf("%s: x-amz-meta-counts %q, want complete (metadata %v)", k, md["counts"], md)
		}
		if got := md["lines"]; got != strconv.Itoa(objLines) {
			t.Errorf("%s: x-amz-meta-lines %q, object holds %d lines", k, got, objLines)
		}
		if md["kernel-drops"] != "0" || md["truncated"] != "0" {
			t.Errorf("%s: kernel-drops %q truncated %q, want 0 and 0", k, md["kernel-drops"], md["truncated"])
		}
		l, _ := strconv.Atoi(md["lines"])
		u, _ := strconv.Atoi(md["unparsed"])
		sumLines, sumUnparsed = sumLines+l, sumUnparsed+u
	}
	if sumLines != n || sumUnparsed != unparsed {
		t.Errorf("summed over objects: lines %d unparsed %d, want %d and %d", sumLines, sumUnparsed, n, unparsed)
	}
}

// bucketObjectLines counts the lines of one object.
func bucketObjectLines(t *testing.T, c *s3.Client, bucket, key string) int {
	t.Helper()
	obj, err := c.GetObject(testbed.Context(t, 30*time.Second), &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		t.Fatalf("get %s: %v", key, err)
	}
	defer obj.Body.Close()
	body, err := io.ReadAll(obj.Body)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Count(string(body), "\n")
}

// removeBucket deletes bucket and its objects, best effort: the bed's
// accounts have a bucket quota that every test shares.
func removeBucket(c *s3.Client, bucket string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	list, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(bucket)})
	if err == nil {
		for _, o := range list.Contents {
			c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: o.Key})
		}
	}
	c.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String(bucket)})
}
