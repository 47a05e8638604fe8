package agent_test

import (
	"context"
	"encoding/json"
	"fmt"
	"github.com/elb-access-logger/elb-access-logger/agent/config"
	"github.com/elb-access-logger/elb-access-logger/agent/identity"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	neturl "net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/elb-access-logger/elb-access-logger/agent"
	"github.com/elb-access-logger/elb-access-logger/internal/testbed"
	"github.com/elb-access-logger/elb-access-logger/uploader"
)

// startMetadataMock runs the bed's amazon-ec2-metadata-mock on a free
// loopback port with values (the mock's "metadata.values" keys), IMDSv2
// required when v2only, and returns its URL. It is stopped at the end of t.
func startMetadataMock(t *testing.T, env testbed.Env, values map[string]any, v2only bool) string {
	t.Helper()
	if env.MetadataMock == "" {
		testbed.Skip(t, "ec2-metadata-mock not found (TESTBED_METADATA_MOCK)")
	}
	dir := t.TempDir()
	cfg, err := json.Marshal(map[string]any{"metadata": map[string]any{"values": values}})
	if err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(dir, "aemm.json")
	if err := os.WriteFile(cfgPath, cfg, 0o600); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	args := []string{"-n", "127.0.0.1", "-p", fmt.Sprint(port), "-c", cfgPath}
	if v2only {
		args = append(args, "-I")
	}
	cmd := exec.Command(env.MetadataMock, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "HOME="+dir)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get(url + "/latest/meta-data/instance-id")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusUnauthorized {
				return url
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("metadata mock did not answer on %s: %v\n%s", url, err, out.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// eucaMockValues are Eucalyptus-like: a load balancer VM of account
// 123456789012 whose LB name has dashes, outside a VPC.
func eucaMockValues() map[string]any {
	return map[string]any{
		"instance-id":                 "i-315dd646",
		"security-groups":             "default\neuca-internal-123456789012-my-web-lb",
		"public-ipv4":                 "203.0.113.10",
		"local-ipv4":                  "10.0.0.5",
		"placement-availability-zone": "one",
		"placement-region":            "eucalyptus",
		"mac-vpc-id":                  "",
	}
}

func TestMetadataMock(t *testing.T) {
	env := testbed.Require(t)
	vpc := eucaMockValues()
	vpc["mac-vpc-id"] = "vpc-d295a6a7"
	vpc["mac-public-ipv4s"] = ""
	vpc["mac-local-ipv4s"] = "172.31.0.9"
	profile := eucaMockValues()
	profile["security-groups"] = "default"
	profile["iam-info"] = map[string]string{
		"Code":               "Success",
		"LastUpdated":        "2026-11-25T00:00:00Z",
		"InstanceProfileArn": "arn:aws:iam::000000000001:instance-profile/internal/loadbalancer/loadbalancer-vm-210987654321-lb-2",
		"InstanceProfileId":  "AIPAEXAMPLE",
	}
	want := identity.Identity{Account: "123456789012", LBName: "my-web-lb", PublicIPv4: "203.0.113.10", InstanceID: "i-315dd646", Region: "eucalyptus"}
	const both, v2only, v1only = 0, 1, 2
	tests := []struct {
		name   string
		values map[string]any
		mode   int
		want   identity.Identity
	}{
		{"eucalyptus values, v1 and v2 served", eucaMockValues(), both, want},
		{"IMDSv2 required", eucaMockValues(), v2only, want},
		{"v1 only, token PUT refused (Eucalyptus)", eucaMockValues(), v1only, want},
		{"vpc user-facing interface", vpc, v2only,
			identity.Identity{Account: "123456789012", LBName: "my-web-lb", PublicIPv4: "172.31.0.9", InstanceID: "i-315dd646", Region: "eucalyptus"}},
		{"instance profile, v1 only", profile, v1only,
			identity.Identity{Account: "210987654321", LBName: "lb-2", PublicIPv4: "203.0.113.10", InstanceID: "i-315dd646", Region: "eucalyptus"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			url := startMetadataMock(t, env, tt.values, tt.mode == v2only)
			var v1 *v1OnlyProxy
			if tt.mode == v1only {
				v1 = newV1OnlyProxy(t, url)
				url = v1.url
			}
			got, err := agent.NewMetadataClient(url, 5*time.Second).Fill(testbed.Context(t, 20*time.Second), identity.Identity{})
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
			if v1 != nil {
				v1.mu.Lock()
				defer v1.mu.Unlock()
				if v1.puts == 0 || v1.gets == 0 || v1.tokenGets != 0 {
					t.Errorf("v1 only: %d token PUTs refused, %d GETs, %d with a token; want PUT tried, GETs without token", v1.puts, v1.gets, v1.tokenGets)
				}
			}
		})
	}
}

// v1OnlyProxy puts Eucalyptus' behaviour in front of the mock: the IMDSv2
// token PUT is refused with 403, GETs are passed on without a token.
type v1OnlyProxy struct {
	url                   string
	mu                    sync.Mutex
	puts, gets, tokenGets int
}

func newV1OnlyProxy(t *testing.T, target string) *v1OnlyProxy {
	u, err := neturl.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(u)
	p := &v1OnlyProxy{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		if r.Method == http.MethodPut {
			p.puts++
			p.mu.Unlock()
			http.Error(w, "IMDSv2 not supported", http.StatusForbidden)
			return
		}
		p.gets++
		if r.Header.Get("X-Aws-Ec2-Metadata-Token") != "" {
			p.tokenGets++
		}
		p.mu.Unlock()
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	p.url = srv.URL
	return p
}

// TestAgentIdentityFromMetadataMock runs the agent with its identity from
// the metadata mock (IMDSv2 only) and the bed's radosgw: the line lands in
// the bucket named from the metadata. (That the owner named there can read
// it is the provisioning tests' business.)
func TestAgentIdentityFromMetadataMock(t *testing.T) {
	env := testbed.Require(t)
	values := eucaMockValues()
	values["security-groups"] = "default\neuca-internal-" + env.LBOwner.Name + "-cfg-lb"
	url := startMetadataMock(t, env, values, true)

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
