package main

import (
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancing"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancing/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/elb-access-logger/elb-access-logger/internal/testbed"
)

// TestBinaryFollowsELBAPI is the new user's path with the real binary: the
// owner creates a load balancer (moto's ELB API on loopback) and a bucket of
// their own (radosgw) granting the uploading account WRITE, runs
// modify-load-balancer-attributes with AccessLog.Enabled=true, and finds
// AWSLogs/<account>/elasticloadbalancing/... objects they can read. A
// restart with the ELB API unreachable keeps following the attribute.
func TestBinaryFollowsELBAPI(t *testing.T) {
	bed := testbed.Require(t)
	motoURL := testbed.RequireMoto(t)
	ctx := testbed.Context(t, 3*time.Minute)
	suffix := randomSuffix(t)
	lbName, bucket := "e2e-elbapi-"+suffix, "e2e-elbapi-"+suffix

	elb := elasticloadbalancing.New(elasticloadbalancing.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(motoURL),
		Credentials: credentials.NewStaticCredentialsProvider("testing", "testing", ""),
	})
	if _, err := elb.CreateLoadBalancer(ctx, &elasticloadbalancing.CreateLoadBalancerInput{
		LoadBalancerName:  aws.String(lbName),
		AvailabilityZones: []string{"us-east-1a"},
		Listeners:         []elbtypes.Listener{{Protocol: aws.String("HTTP"), LoadBalancerPort: 80, InstanceProtocol: aws.String("HTTP"), InstancePort: aws.Int32(80)}},
	}); err != nil {
		t.Fatalf("create load balancer: %v", err)
	}
	owner := bed.S3(bed.LBOwner)
	if _, err := owner.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatalf("lbowner creates %s: %v", bucket, err)
	}
	bed.RemoveBucketAtEnd(t, bed.LBOwner, bucket)
	if _, err := owner.PutBucketAcl(ctx, &s3.PutBucketAclInput{Bucket: aws.String(bucket),
		GrantFullControl: aws.String("id=" + bed.LBOwner.Name), GrantWrite: aws.String("id=" + bed.Logger.Name)}); err != nil {
		t.Fatalf("grant logger WRITE: %v", err)
	}
	if _, err := elb.ModifyLoadBalancerAttributes(ctx, &elasticloadbalancing.ModifyLoadBalancerAttributesInput{
		LoadBalancerName: aws.String(lbName),
		LoadBalancerAttributes: &elbtypes.LoadBalancerAttributes{AccessLog: &elbtypes.AccessLog{
			Enabled: true, S3BucketName: aws.String(bucket), S3BucketPrefix: aws.String("web"), EmitInterval: aws.Int32(5)}},
	}); err != nil {
		t.Fatalf("modify load balancer attributes: %v", err)
	}

	spool := t.TempDir()
	props := func(port int, endpoint string) string {
		return fmt.Sprintf(`
access_log.source = elb-api
elb.endpoint = %s
elb.poll_interval = 500ms
# five-second windows for the test; the attribute's EmitInterval otherwise
access_log.schedule = */5 * * * * *
# upload at once: the default spread gives this random load balancer name an
# offset of up to 60s, as long as waitLine waits
access_log.upload_spread = 0
syslog.listen = udp://127.0.0.1:%d
access_log.lb_name = %s
access_log.node_ip = 127.0.0.1
access_log.instance_id = i-e1ba0001
access_log.owner_account = lbowner
access_log.region = us-east-1
spool.dir = %s
objectstorage.endpoint = %s
objectstorage.access_key_id = %s
objectstorage.secret_access_key = %s
metadata.endpoint =
metrics.listen = 127.0.0.1:0
`, endpoint, port, lbName, spool, bed.S3Endpoint, bed.Logger.AccessKey, bed.Logger.SecretKey)
	}
	waitLine := func(a *runningAgent, line string) {
		t.Helper()
		prefix := "web/AWSLogs/lbowner/elasticloadbalancing/us-east-1/"
		deadline := time.Now().Add(60 * time.Second)
		for {
			out, err := owner.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(prefix)})
			if err == nil {
				for _, o := range out.Contents {
					key := aws.ToString(o.Key)
					if !strings.Contains(key, "/lbowner_elasticloadbalancing_us-east-1_"+lbName+"_") {
						t.Errorf("key %q is not in the AWS layout", key)
					}
					g, err := owner.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: o.Key})
					if err != nil {
						t.Fatalf("lbowner reads %s: %v", key, err)
					}
					body, err := io.ReadAll(g.Body)
					g.Body.Close()
					if err == nil && strings.Contains(string(body), "/"+line+" ") {
						return
					}
				}
			}
			if time.Now().After(deadline) {
				t.Fatalf("no object with line %q under %s/%s after 60s; agent stderr:\n%s", line, bucket, prefix, a.stderr.String())
			}
			time.Sleep(500 * time.Millisecond)
		}
	}
	sendTo := func(port int, line string) {
		t.Helper()
		conn, err := net.Dial("udp", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		fmt.Fprintf(conn, "<158>Nov 25 06:12:36 haproxy[6817]: 127.0.0.1:35308 [25/Nov/2026:06:12:36.416] fe_http be_http/s1 0/0/0/6/6 200 185 - - ---- 1/1/0/0/0 0/0 \"GET /%s HTTP/1.1\"\n", line)
	}

	port := freeUDPPort(t)
	a := startAgent(t, props(port, motoURL))
	// The test file shows the attribute was followed; then lines flow.
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, err := owner.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String("web/AWSLogs/lbowner/ELBAccessLogTestFile")})
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no readable test file after 30s: %v; agent stderr:\n%s", err, a.stderr.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
	sendTo(port, "first-run")
	waitLine(a, "first-run")
	a.stop(t)

	// Restart with the ELB API unreachable: the attribute persisted in the
	// spool directory stays in force.
	port = freeUDPPort(t)
	a = startAgent(t, props(port, "http://127.0.0.1:1"))
	time.Sleep(time.Second)
	sendTo(port, "second-run")
	waitLine(a, "second-run")
	a.stop(t)
	if !strings.Contains(a.stderr.String(), "elb api unavailable") {
		t.Errorf("the unreachable ELB API was not reported; agent stderr:\n%s", a.stderr.String())
	}
}
