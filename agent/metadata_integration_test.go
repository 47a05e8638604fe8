package agent_test

import (
	"context"
	"fmt"
	"github.com/elb-access-logger/elb-access-logger/agent/config"
	"github.com/elb-access-logger/elb-access-logger/agent/identity/identitytest"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/elb-access-logger/elb-access-logger/agent"
	"github.com/elb-access-logger/elb-access-logger/internal/testbed"
	"github.com/elb-access-logger/elb-access-logger/uploader"
)

// TestAgentIdentityFromMetadataMock runs the agent with its identity from
// the metadata mock (IMDSv2 only) and the bed's radosgw: the line lands in
// the bucket named from the metadata. (That the owner named there can read
// it is the provisioning tests' business.)
func TestAgentIdentityFromMetadataMock(t *testing.T) {
	env := testbed.Require(t)
	values := identitytest.EucaMockValues()
	values["security-groups"] = "default\neuca-internal-" + env.LBOwner.Name + "-cfg-lb"
	url := identitytest.StartMock(t, env, values, true)

	suffix := fmt.Sprintf("%08x", rand.Uint32())
	dir := t.TempDir()
	props := filepath.Join(dir, "access-log.properties")
	content := fmt.Sprintf(`access_log.schedule = */2 * * * * *
access_log.bucket = cfgtest-{lb_name}-{instance_num}-%s
access_log.upload_spread = 0
syslog.listen = udp://127.0.0.1:0
spool.dir = %s
spool.fsync_interval = 100ms
objectstorage.endpoint = %s
objectstorage.access_key_id = %s
objectstorage.secret_access_key = %s
objectstorage.servo_conf =
metadata.endpoint = %s
metadata.timeout = 5s
metrics.listen = 127.0.0.1:0
`, suffix, filepath.Join(dir, "spool"), env.S3Endpoint, env.Logger.AccessKey, env.Logger.SecretKey, url)
	if err := os.WriteFile(props, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.LoadConfig(props, true)
	if err != nil {
		t.Fatal(err)
	}
	up, err := uploader.New(uploader.Options{Endpoint: cfg.StoreEndpoint, Region: cfg.SigningRegion(),
		AccessKeyID: cfg.AccessKeyID, SecretAccessKey: cfg.SecretAccessKey, PathStyle: cfg.PathStyle})
	if err != nil {
		t.Fatal(err)
	}
	a, err := agent.New(cfg, up, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Start(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	defer func() {
		cancel()
		<-done
	}()
	conn, err := net.Dial("udp", a.Addrs()[0].String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "<158>Nov 25 06:12:36 haproxy[1]: httplog from-metadata-%s\n", suffix)

	bucket := "cfgtest-cfg-lb-315dd646-" + suffix
	store := env.S3(env.Logger)
	t.Cleanup(func() { removeBucket(store, bucket) })
	deadline := time.Now().Add(30 * time.Second)
	for {
		body, err := readFirstObject(testbed.Context(t, 10*time.Second), store, bucket)
		if err == nil && strings.Contains(body, "from-metadata-"+suffix) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no object with the line in %s: %v (body %q)", bucket, err, body)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// readFirstObject lists bucket as c and returns the first object's body.
func readFirstObject(ctx context.Context, c *s3.Client, bucket string) (string, error) {
	l, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(bucket)})
	if err != nil {
		return "", err
	}
	for _, o := range l.Contents {
		if strings.Contains(*o.Key, "ELBAccessLogTestFile") {
			continue
		}
		g, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: o.Key})
		if err != nil {
			return "", err
		}
		defer g.Body.Close()
		b, err := io.ReadAll(g.Body)
		return string(b), err
	}
	return "", fmt.Errorf("bucket %s is empty", bucket)
}

// removeBucket deletes bucket and its objects, best effort.
func removeBucket(c *s3.Client, bucket string) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	l, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(bucket)})
	if err != nil {
		return
	}
	for _, o := range l.Contents {
		c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: o.Key})
	}
	c.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String(bucket)})
}
