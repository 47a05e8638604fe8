package uploader

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// storeUnderTest is one store the conformance suite runs against: the
// in-memory fake here, the test bed's radosgw in radosgw_test.go (the one
// that proves ACLs and expiry, which a fake never can).
type storeUnderTest struct {
	up     *Client    // the agent's uploader, as the uploading account
	raw    *s3.Client // the same account through the plain SDK, to look and to tamper
	bucket string     // a fresh bucket name, removed at the end of the test
	owner  string     // the load balancer owner's account
}

// runConformance checks the contract of Provision and Put that every
// store must keep.
func runConformance(t *testing.T, newStore func(t *testing.T) storeUnderTest) {
	t.Run("provision is idempotent and writes the test file", func(t *testing.T) {
		s := newStore(t)
		ctx := testContext(t)
		b := Bucket{Name: s.bucket, OwnerAccount: s.owner, LifecycleDays: 3, LBName: "my-lb"}
		for i := 0; i < 2; i++ {
			if err := s.up.Provision(ctx, b); err != nil {
				t.Fatalf("Provision #%d: %v", i+1, err)
			}
		}
		if got := rawGet(t, ctx, s.raw, s.bucket, TestFileKey("", s.owner)); !strings.HasPrefix(got, "Enable AccessLog for ELB: my-lb at ") {
			t.Errorf("test file: got %q", got)
		}
	})
	t.Run("put stores the exact bytes and may be repeated", func(t *testing.T) {
		s := newStore(t)
		ctx := testContext(t)
		if err := s.up.Provision(ctx, Bucket{Name: s.bucket, OwnerAccount: s.owner}); err != nil {
			t.Fatalf("Provision: %v", err)
		}
		bodies := map[string]string{
			"elb-access-01122026-040500.log":                                       "a line\nanother \"quoted\" line: with colons\n",
			"elb-access-01122026-050000.log":                                       "",
			"AWSLogs/123456789012/elasticloadbalancing/us-east-1/2026/12/01/x.log": strings.Repeat("0123456789abcdef", 4096),
		}
		for round := 0; round < 2; round++ {
			for key, body := range bodies {
				if err := s.up.Put(ctx, Object{Bucket: s.bucket, Key: key, Body: strings.NewReader(body), Size: int64(len(body)), OwnerAccount: s.owner}); err != nil {
					t.Fatalf("Put %s (round %d): %v", key, round, err)
				}
			}
		}
		for key, body := range bodies {
			if got := rawGet(t, ctx, s.raw, s.bucket, key); got != body {
				t.Errorf("GET %s: got %d bytes, want %d", key, len(got), len(body))
			}
		}
	})
	t.Run("lifecycle follows the setting and keeps other rules", func(t *testing.T) {
		s := newStore(t)
		ctx := testContext(t)
		provision := func(days int) {
			t.Helper()
			if err := s.up.Provision(ctx, Bucket{Name: s.bucket, OwnerAccount: s.owner, LifecycleDays: days}); err != nil {
				t.Fatalf("Provision with %d days: %v", days, err)
			}
		}
		provision(5)
		if got := lifecycleRules(t, ctx, s.raw, s.bucket); got != LifecycleRuleID+":5" {
			t.Fatalf("lifecycle after 5: got %s", got)
		}
		if got := ruleScope(t, ctx, s.raw, s.bucket); got != seedKeyStart {
			t.Errorf("the agent's rule is scoped to %q, want %q (the seed layout's keys)", got, seedKeyStart)
		}
		if got := abortDays(t, ctx, s.raw, s.bucket); got != AbortIncompleteDays {
			t.Errorf("the agent's rule aborts incomplete multipart uploads after %d days, want %d", got, AbortIncompleteDays)
		}
		// Someone adds a rule of their own; the agent must keep it.
		_, err := s.raw.PutBucketLifecycleConfiguration(ctx, &s3.PutBucketLifecycleConfigurationInput{
			Bucket: aws.String(s.bucket),
			LifecycleConfiguration: &types.BucketLifecycleConfiguration{Rules: []types.LifecycleRule{
				expiryRule(5, seedKeyStart),
				{ID: aws.String("keep-me"), Status: types.ExpirationStatusEnabled, Filter: &types.LifecycleRuleFilter{Prefix: aws.String("tmp/")}, Expiration: &types.LifecycleExpiration{Days: aws.Int32(100)}},
			}},
		})
		if err != nil {
			t.Fatalf("add another rule: %v", err)
		}
		steps := []struct {
			days int
			want string
		}{
			{7, LifecycleRuleID + ":7,keep-me:100"},
			{7, LifecycleRuleID + ":7,keep-me:100"},
			{0, "keep-me:100"},
			{0, "keep-me:100"},
			{3, LifecycleRuleID + ":3,keep-me:100"},
		}
		for _, st := range steps {
			provision(st.days)
			if got := lifecycleRules(t, ctx, s.raw, s.bucket); got != st.want {
				t.Errorf("lifecycle after %d days: got %s, want %s", st.days, got, st.want)
			}
		}
		if _, err := s.raw.DeleteBucketLifecycle(ctx, &s3.DeleteBucketLifecycleInput{Bucket: aws.String(s.bucket)}); err != nil {
			t.Fatal(err)
		}
		provision(2)
		provision(0)
		if got := lifecycleRules(t, ctx, s.raw, s.bucket); got != "" {
			t.Errorf("lifecycle after 0 with no other rule: got %s, want none", got)
		}
	})
	t.Run("put to a missing bucket", func(t *testing.T) {
		s := newStore(t)
		err := s.up.Put(testContext(t), Object{Bucket: s.bucket, Key: "k", Body: strings.NewReader("x"), Size: 1})
		if !errors.Is(err, ErrNoSuchBucket) || Cause(err) != "no_such_bucket" {
			t.Errorf("got %v (cause %s), want ErrNoSuchBucket", err, Cause(err))
		}
	})
}

func TestFakeConformance(t *testing.T) {
	runConformance(t, func(t *testing.T) storeUnderTest {
		f := newFakeS3("AKID")
		url := f.start(t)
		up, err := New(Options{Endpoint: url, Region: "us-east-1", AccessKeyID: "AKID", SecretAccessKey: "secret", PathStyle: true})
		if err != nil {
			t.Fatal(err)
		}
		raw := s3.New(s3.Options{Region: "us-east-1", BaseEndpoint: aws.String(url), UsePathStyle: true,
			Credentials: credentials.NewStaticCredentialsProvider("AKID", "secret", "")})
		return storeUnderTest{up: up, raw: raw, bucket: "access_logs-lb_192.0.2.1_315dd646", owner: "lbowner"}
	})
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}
