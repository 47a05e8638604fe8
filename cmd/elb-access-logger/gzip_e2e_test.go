package main

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/elb-access-logger/elb-access-logger/internal/testbed"
)

// TestGzipObjects runs the real binary with access_log.compression = gzip:
// the load balancer owner finds .log.gz objects, gzip files without
// Content-Encoding, holding every line sent.
func TestGzipObjects(t *testing.T) {
	bed := testbed.Require(t)
	port := freeUDPPort(t)
	lb := "gzip-" + randomSuffix(t)
	bucket := "access_logs-" + lb + "_127.0.0.1_5eed0005"
	t.Cleanup(func() { removeBucket(bed.S3(bed.Logger), bucket) })
	a := startAgent(t, bedProperties(t, bed, port, "0 0 * * * *", lb, "i-5eed0005")+"access_log.compression = gzip\n")
	url := metricsURL(t, a)
	conn, err := net.Dial("udp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	const n = 500
	var want strings.Builder
	for i := range n {
		body := fmt.Sprintf(`httplog http-80 backend-http-80 http-80 200 -- 4 0 1 1 6 "GET /n/%04d HTTP/1.1" req_size=142 resp_size=241`, i)
		fmt.Fprintf(conn, "<158>Dec 11 05:05:36 haproxy[1070]: %s\n", body)
		fmt.Fprintf(&want, "Dec 11 05:05:36 localhost haproxy[1070]: %s\n", body)
		if i%100 == 99 {
			time.Sleep(20 * time.Millisecond)
		}
	}
	testbed.WaitFor(t, "every datagram spooled", func() bool {
		return sample(t, url, fmt.Sprintf(`elb_access_logger_datagrams_received_total{listener="udp://127.0.0.1:%d"}`, port)) == n
	})
	a.stop(t) // seals the window and uploads it

	owner := bed.S3(bed.LBOwner)
	ctx := testbed.Context(t, 30*time.Second)
	list, err := owner.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(bucket)})
	if err != nil {
		t.Fatal(err)
	}
	var got bytes.Buffer
	for _, o := range list.Contents {
		key := aws.ToString(o.Key)
		if strings.HasSuffix(key, "ELBAccessLogTestFile") {
			continue
		}
		if !strings.HasSuffix(key, ".log.gz") {
			t.Errorf("key %s does not end in .log.gz", key)
		}
		obj, err := owner.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: o.Key})
		if err != nil {
			t.Fatalf("GET %s as owner: %v", key, err)
		}
		if ce := aws.ToString(obj.ContentEncoding); ce != "" {
			t.Errorf("%s: Content-Encoding %q, want none", key, ce)
		}
		zr, err := gzip.NewReader(obj.Body)
		if err != nil {
			t.Fatalf("%s is not gzip: %v", key, err)
		}
		io.Copy(&got, zr)
		obj.Body.Close()
	}
	if got.String() != want.String() {
		t.Errorf("decompressed objects: %d bytes, want the %d bytes of lines sent", got.Len(), want.Len())
	}
}
