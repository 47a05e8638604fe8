// Package testbed gives integration tests the real servers that
// scripts/testbed.sh starts on 127.0.0.1: Ceph radosgw with the accounts
// logger, lbowner and stranger, HAProxy and the EC2 metadata mock.
//
// A test that needs the bed calls Require. Without the bed the test is
// skipped with the reason, unless ELB_TEST_DISALLOW_SKIP is set (make test
// and CI set it): then the test fails, so CI can never pass by skipping.
package testbed

import (
	"bufio"
	"context"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// Account is one object-store user of the bed.
type Account struct {
	Name      string // the uid, also the grantee id
	AccessKey string
	SecretKey string
}

// Env describes a running test bed.
type Env struct {
	S3Endpoint   string // http://127.0.0.1:PORT
	Logger       Account
	LBOwner      Account
	Stranger     Account
	HAProxy      string // path of the haproxy binary
	MetadataMock string // path of the ec2-metadata-mock binary
	Dir          string
}

// Skip skips t with reason, or fails it when skipping is disallowed.
func Skip(t testing.TB, reason string) {
	t.Helper()
	if os.Getenv("ELB_TEST_DISALLOW_SKIP") != "" {
		t.Fatalf("%s (ELB_TEST_DISALLOW_SKIP is set: start the bed with scripts/testbed.sh start and eval \"$(scripts/testbed.sh env)\")", reason)
	}
	t.Skipf("%s; run scripts/testbed.sh start and eval \"$(scripts/testbed.sh env)\"", reason)
}

// Require returns the bed's Env, or skips t when the bed is not running.
func Require(t testing.TB) Env {
	t.Helper()
	e := Env{
		S3Endpoint:   os.Getenv("TESTBED_S3_ENDPOINT"),
		Logger:       Account{"logger", os.Getenv("TESTBED_LOGGER_ACCESS_KEY"), os.Getenv("TESTBED_LOGGER_SECRET_KEY")},
		LBOwner:      Account{"lbowner", os.Getenv("TESTBED_LBOWNER_ACCESS_KEY"), os.Getenv("TESTBED_LBOWNER_SECRET_KEY")},
		Stranger:     Account{"stranger", os.Getenv("TESTBED_STRANGER_ACCESS_KEY"), os.Getenv("TESTBED_STRANGER_SECRET_KEY")},
		HAProxy:      os.Getenv("TESTBED_HAPROXY"),
		MetadataMock: os.Getenv("TESTBED_METADATA_MOCK"),
		Dir:          os.Getenv("TESTBED_DIR"),
	}
	if e.S3Endpoint == "" || e.Logger.AccessKey == "" {
		Skip(t, "test bed not configured: TESTBED_S3_ENDPOINT and TESTBED_LOGGER_ACCESS_KEY are unset")
	}
	u, err := url.Parse(e.S3Endpoint)
	if err != nil {
		t.Fatalf("TESTBED_S3_ENDPOINT %q: %v", e.S3Endpoint, err)
	}
	c, err := net.DialTimeout("tcp", u.Host, 2*time.Second)
	if err != nil {
		Skip(t, "radosgw of the test bed is not answering at "+u.Host+": "+err.Error())
	}
	c.Close()
	return e
}

// RequireHAProxy is Require plus a usable HAProxy binary.
func RequireHAProxy(t testing.TB) Env {
	t.Helper()
	e := Require(t)
	if _, err := os.Stat(e.HAProxy); e.HAProxy == "" || err != nil {
		Skip(t, "HAProxy not found (TESTBED_HAPROXY)")
	}
	return e
}

// S3 returns a client of the bed's store acting as account a.
func (e Env) S3(a Account) *s3.Client {
	return s3.New(s3.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(e.S3Endpoint),
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider(a.AccessKey, a.SecretKey, ""),
	})
}

// Context returns a context for one test step, cancelled at the end of t.
func Context(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// FreeUDPPort returns a loopback UDP port that was free a moment ago.
func FreeUDPPort(t testing.TB) int {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

// FakeHAProxy serves HAProxy's stats socket on a unix socket of its own
// and returns its path: "show info" answers what info returns at the time.
func FakeHAProxy(t testing.TB, info func() string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "haproxy.sock")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			line, _ := bufio.NewReader(c).ReadString('\n')
			if line == "show info\n" {
				c.Write([]byte(info()))
			}
			c.Close()
		}
	}()
	return path
}

// WaitFor polls cond every 20 ms until it holds, failing t after 10 s.
func WaitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// WriteFile writes content to dir/name (mode 0600) and returns the path.
func WriteFile(t testing.TB, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// RemoveBucketAtEnd deletes bucket, and every object in it, as account a
// when t ends, so repeated runs do not fill the account's bucket quota
// (radosgw answers TooManyBuckets past it). Failures are only logged.
func (e Env) RemoveBucketAtEnd(t testing.TB, a Account, bucket string) {
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c := e.S3(a)
		p := s3.NewListObjectsV2Paginator(c, &s3.ListObjectsV2Input{Bucket: aws.String(bucket)})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				t.Logf("clean up bucket %s: list: %v", bucket, err)
				return
			}
			for _, o := range page.Contents {
				if _, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: o.Key}); err != nil {
					t.Logf("clean up bucket %s: delete %s: %v", bucket, aws.ToString(o.Key), err)
				}
			}
		}
		if _, err := c.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String(bucket)}); err != nil {
			t.Logf("clean up bucket %s: %v", bucket, err)
		}
	})
}
