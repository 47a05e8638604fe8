package agent

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancing"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancing/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/elb-access-logger/elb-access-logger/agent/control"
	"github.com/elb-access-logger/elb-access-logger/internal/testbed"
	"github.com/elb-access-logger/elb-access-logger/uploader"
)

// TestELBAPIWithMotoAndRadosgw: the load balancer's owner turns logging
// on, moves it between buckets and prefixes, changes the interval, names a
// bucket the agent cannot write to and fixes its permission, and turns
// logging off, all through the ELB API of moto; the agent follows each
// change and the owner reads the objects it wrote into the owner's own
// buckets of radosgw.
func TestELBAPIWithMotoAndRadosgw(t *testing.T) {
	env := testbed.Require(t)
	motoURL := testbed.RequireMoto(t)
	ctx := testbed.Context(t, 3*time.Minute)
	suffix := strings.ToLower(testSuffix())

	// The owner's load balancer, in moto.
	elbAdmin := elasticloadbalancing.New(elasticloadbalancing.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(motoURL),
		Credentials: credentials.NewStaticCredentialsProvider("testing", "testing", ""),
	})
	lbName := "it-elbapi-" + suffix
	if _, err := elbAdmin.CreateLoadBalancer(ctx, &elasticloadbalancing.CreateLoadBalancerInput{
		LoadBalancerName:  aws.String(lbName),
		AvailabilityZones: []string{"us-east-1a"},
		Listeners:         []elbtypes.Listener{{Protocol: aws.String("HTTP"), LoadBalancerPort: 80, InstanceProtocol: aws.String("HTTP"), InstancePort: aws.Int32(80)}},
	}); err != nil {
		t.Fatalf("create load balancer in moto: %v", err)
	}
	modify := func(l control.AccessLog) {
		t.Helper()
		al := &elbtypes.AccessLog{Enabled: l.Enabled, EmitInterval: aws.Int32(int32(l.EmitInterval))}
		if l.Bucket != "" {
			al.S3BucketName, al.S3BucketPrefix = aws.String(l.Bucket), aws.String(l.Prefix)
		}
		if _, err := elbAdmin.ModifyLoadBalancerAttributes(ctx, &elasticloadbalancing.ModifyLoadBalancerAttributesInput{
			LoadBalancerName:       aws.String(lbName),
			LoadBalancerAttributes: &elbtypes.LoadBalancerAttributes{AccessLog: al},
		}); err != nil {
			t.Fatalf("modify load balancer attributes: %v", err)
		}
	}

	// The owner's buckets: two granting the logger WRITE, one not (yet).
	owner := env.S3(env.LBOwner)
	one, two, denied := "elbapi-"+suffix+"-one", "elbapi-"+suffix+"-two", "elbapi-"+suffix+"-denied"
	grantWrite := func(b string) {
		t.Helper()
		if _, err := owner.PutBucketAcl(ctx, &s3.PutBucketAclInput{Bucket: aws.String(b),
			GrantFullControl: aws.String("id=" + env.LBOwner.Name), GrantWrite: aws.String("id=" + env.Logger.Name)}); err != nil {
			t.Fatalf("grant logger WRITE on %s: %v", b, err)
		}
	}
	for _, b := range []string{one, two, denied} {
		if _, err := owner.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(b)}); err != nil {
			t.Fatalf("lbowner creates %s: %v", b, err)
		}
		env.RemoveBucketAtEnd(t, env.LBOwner, b)
	}
	grantWrite(one)
	grantWrite(two)

	// The agent: store credentials of logger, ELB API of moto.
	c := elbTestConfig(t)
	c.LBName, c.ELBEndpoint, c.ELBPollInterval = lbName, motoURL, 200*time.Millisecond
	c.StoreEndpoint, c.AccessKeyID, c.SecretAccessKey = env.S3Endpoint, env.Logger.AccessKey, env.Logger.SecretKey
	up, err := uploader.New(uploader.Options{Endpoint: c.StoreEndpoint, Region: "us-east-1", PathStyle: true,
		AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey})
	if err != nil {
		t.Fatal(err)
	}
	elb := control.NewELBClient(c.ELBEndpoint, "us-east-1", credentials.NewStaticCredentialsProvider(env.Logger.AccessKey, env.Logger.SecretKey, ""), nil)
	var logs testbed.Buffer
	var agent *Agent
	conn, cancel, done := startAgent(t, c, up, func(a *Agent) {
		a.SetAccessLogSource(elb)
		a.log = slog.New(slog.NewTextHandler(&logs, nil))
		agent = a
	})
	defer func() { cancel(); <-done }()

	// readAs lists bucket/prefix as the owner and returns the bodies.
	readAs := func(bucket, prefix string) []string {
		out, err := owner.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(prefix)})
		if err != nil {
			return nil
		}
		var bodies []string
		for _, o := range out.Contents {
			g, err := owner.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: o.Key})
			if err != nil {
				t.Errorf("lbowner reads %s/%s: %v", bucket, aws.ToString(o.Key), err)
				continue
			}
			b, _ := io.ReadAll(g.Body)
			g.Body.Close()
			bodies = append(bodies, string(b))
		}
		return bodies
	}
	waitObject := func(bucket, prefix, line string) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			for _, body := range readAs(bucket, prefix) {
				if strings.Contains(body, "/"+line+" ") || line == "" {
					return
				}
			}
			if time.Now().After(deadline) {
				t.Fatalf("no object under %s/%s with line %q within 30s; agent log:\n%s", bucket, prefix, line, logs.String())
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	applied := func(l control.AccessLog) {
		t.Helper()
		waitFor(t, "the attribute applied", func() bool {
			cfg := agent.Config()
			return cfg.Enabled == l.Enabled && (!l.Enabled || cfg.Bucket == l.Bucket && cfg.KeyPrefix == l.Prefix && cfg.EmitInterval == l.EmitInterval)
		})
	}
	send := func(line string) {
		t.Helper()
		sendLine(t, conn, line)
		time.Sleep(200 * time.Millisecond) // spooled
	}
	logPrefix := func(prefix string) string { return prefix + "/AWSLogs/lbowner/elasticloadbalancing/us-east-1/" }
	testFile := func(prefix string) string { return prefix + "/AWSLogs/lbowner/ELBAccessLogTestFile" }

	// 1. Enable: the test file appears in the owner's bucket.
	send("before-enable")
	modify(control.AccessLog{Enabled: true, Bucket: one, Prefix: "p1", EmitInterval: 5})
	applied(control.AccessLog{Enabled: true, Bucket: one, Prefix: "p1", EmitInterval: 5})
	waitObject(one, testFile("p1"), "")
	send("one")

	// 2. Bucket change: the window with "one" goes to the old bucket; the
	// new bucket gets the test file.
	modify(control.AccessLog{Enabled: true, Bucket: two, Prefix: "p1", EmitInterval: 5})
	waitObject(one, logPrefix("p1"), "one")
	waitObject(two, testFile("p1"), "")
	send("two")

	// 3. Prefix change.
	modify(control.AccessLog{Enabled: true, Bucket: two, Prefix: "p2", EmitInterval: 5})
	waitObject(two, logPrefix("p1"), "two")
	send("three")

	// 4. Interval change: sealed under the old settings, the next window
	// ends on the hour.
	modify(control.AccessLog{Enabled: true, Bucket: two, Prefix: "p2", EmitInterval: 60})
	waitObject(two, logPrefix("p2"), "three")
	applied(control.AccessLog{Enabled: true, Bucket: two, Prefix: "p2", EmitInterval: 60})
	if end := agent.spool.End(); end.Minute() != 0 || end.Second() != 0 {
		t.Errorf("window end with EmitInterval 60: got %s, want on the hour", end)
	}
	send("four")

	// 5. A bucket the agent cannot write to: reported, the data stays
	// spooled; once the owner grants WRITE, it goes out.
	modify(control.AccessLog{Enabled: true, Bucket: denied, Prefix: "p3", EmitInterval: 60})
	waitObject(two, logPrefix("p2"), "four")
	send("five")
	modify(control.AccessLog{Enabled: true, Bucket: denied, Prefix: "p3", EmitInterval: 5}) // seals "five" for the denied bucket
	applied(control.AccessLog{Enabled: true, Bucket: denied, Prefix: "p3", EmitInterval: 5})
	waitFor(t, "the denied bucket reported", func() bool {
		return strings.Contains(logs.String(), denied) && strings.Contains(logs.String(), "AccessDenied")
	})
	time.Sleep(time.Second)
	if segs, err := agent.spool.Sealed(); err != nil || len(segs) == 0 {
		t.Fatalf("spool while the bucket is denied: got %d segments (%v), want the one with line five kept", len(segs), err)
	}
	grantWrite(denied)
	waitObject(denied, logPrefix("p3"), "five")

	// 6. Disable: no new window, nothing else uploaded.
	modify(control.AccessLog{Enabled: false, EmitInterval: 60})
	applied(control.AccessLog{Enabled: false})
	send("after-disable")
	time.Sleep(time.Second)
	for _, b := range []string{one, two, denied} {
		for _, body := range readAs(b, "") {
			for _, bad := range []string{"/before-enable ", "/after-disable "} {
				if strings.Contains(body, bad) {
					t.Errorf("bucket %s holds line %q sent while logging was off", b, bad)
				}
			}
		}
	}
	if s := agent.ELBStats(); s.Changes < 7 || s.PollErrors != 0 {
		t.Errorf("elb stats: got %+v, want at least 7 changes and no poll error", s)
	}

	// The stranger reads nothing of the owner's logs.
	stranger := env.S3(env.Stranger)
	if _, err := stranger.ListObjectsV2(context.Background(), &s3.ListObjectsV2Input{Bucket: aws.String(one)}); err == nil {
		t.Errorf("stranger lists %s: got nil error, want AccessDenied", one)
	}
}
