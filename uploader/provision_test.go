package uploader

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func TestProvisionNewBucket(t *testing.T) {
	f := newFakeS3("AKID")
	c := newTestClient(t, f, nil)
	b := Bucket{Name: "access_logs-lb_10.0.0.1_315dd646", OwnerAccount: "lbowner", LifecycleDays: 30, LBName: "lb"}
	if err := c.Provision(context.Background(), b); err != nil {
		t.Fatalf("Provision: %v", err)
	}
	bk := "/" + b.Name
	test := bk + "/AWSLogs/lbowner/ELBAccessLogTestFile"
	want := []string{"HEAD " + bk, "PUT " + bk, "GET /", "GET " + bk + "?acl", "PUT " + bk + "?acl", "GET " + bk + "?lifecycle", "PUT " + bk + "?lifecycle", "GET " + test, "PUT " + test, "GET " + test}
	if got := f.sent(); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("requests:\n got %v\nwant %v", got, want)
	}
	acl := f.last("PUT " + bk + "?acl")
	if got, want := headerSubset(acl.Header, "X-Amz-Grant-Read", "X-Amz-Grant-Full-Control", "X-Amz-Acl"), "x-amz-grant-full-control: id=logger\nx-amz-grant-read: id=lbowner"; got != want {
		t.Errorf("bucket acl headers:\n got %s\nwant %s", got, want)
	}
	if acl.Body != "" {
		t.Errorf("bucket acl body: got %q, want none (grants go in headers)", acl.Body)
	}
	lc := f.last("PUT " + bk + "?lifecycle").Body
	for _, want := range []string{"<ID>" + LifecycleRuleID + "</ID>", "<Status>Enabled</Status>", "<Expiration><Days>30</Days></Expiration>", "<Filter><Prefix>elb-access-</Prefix></Filter>"} {
		if !strings.Contains(lc, want) {
			t.Errorf("lifecycle XML %s: missing %s", lc, want)
		}
	}
	if n := strings.Count(lc, "<Rule>"); n != 1 {
		t.Errorf("lifecycle XML has %d rules, want 1", n)
	}
	if got := headerSubset(f.last("PUT "+test).Header, "X-Amz-Grant-Read", "X-Amz-Grant-Full-Control"); got != "x-amz-grant-full-control: id=logger\nx-amz-grant-read: id=lbowner" {
		t.Errorf("test file grants: got %s", got)
	}
	if got := string(f.objects[b.Name+"/AWSLogs/lbowner/ELBAccessLogTestFile"]); !strings.HasPrefix(got, "Enable AccessLog for ELB: lb at ") {
		t.Errorf("test file: got %q", got)
	}

	// Again with the same settings: reads only, nothing is written.
	f.requests = nil
	if err := c.Provision(context.Background(), b); err != nil {
		t.Fatalf("Provision again: %v", err)
	}
	want = []string{"HEAD " + bk, "GET " + bk + "?acl", "GET " + bk + "?lifecycle", "GET " + test}
	if got := f.sent(); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("requests the second time:\n got %v\nwant %v", got, want)
	}
}

const otherRule = `<Rule><ID>keep-me</ID><Filter><Prefix>tmp/</Prefix></Filter><Status>Enabled</Status><Expiration><Days>1</Days></Expiration></Rule>`

func lifecycleXML(rules ...string) string {
	return `<?xml version="1.0" encoding="UTF-8"?><LifecycleConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">` + strings.Join(rules, "") + `</LifecycleConfiguration>`
}

func ourRule(days string) string { return ourRuleOn("elb-access-", days) }

// ourRuleOn is the agent's rule on prefix; on "" it is an older agent's,
// which expired the whole bucket.
func ourRuleOn(prefix, days string) string {
	return `<Rule><ID>` + LifecycleRuleID + `</ID><Filter><Prefix>` + prefix + `</Prefix></Filter><Status>Enabled</Status><Expiration><Days>` + days + `</Days></Expiration><AbortIncompleteMultipartUpload><DaysAfterInitiation>1</DaysAfterInitiation></AbortIncompleteMultipartUpload></Rule>`
}

// ourOlderRule is the rule of an agent before multipart uploads: it
// expired objects and left incomplete uploads alone.
func ourOlderRule(days string) string {
	return `<Rule><ID>` + LifecycleRuleID + `</ID><Filter><Prefix>elb-access-</Prefix></Filter><Status>Enabled</Status><Expiration><Days>` + days + `</Days></Expiration></Rule>`
}

func TestEnsureLifecycle(t *testing.T) {
	tests := []struct {
		name     string
		existing string // lifecycle XML, "" for none
		days     int
		wantReq  string // the write made, "" for none
		wantIDs  []string
		wantDays string
	}{
		{"none, want 0", "", 0, "", nil, ""},
		{"none, want 7", "", 7, "PUT", []string{LifecycleRuleID}, "7"},
		{"ours with 7, want 7", lifecycleXML(ourRule("7")), 7, "", nil, ""},
		{"ours with 7, want 30", lifecycleXML(ourRule("7")), 30, "PUT", []string{LifecycleRuleID}, "30"},
		{"other rule kept, ours added", lifecycleXML(otherRule), 5, "PUT", []string{"keep-me", LifecycleRuleID}, "5"},
		{"ours removed, other kept", lifecycleXML(otherRule, ourRule("7")), 0, "PUT", []string{"keep-me"}, ""},
		{"ours removed, none left", lifecycleXML(ourRule("7")), 0, "DELETE", nil, ""},
		{"only other, want 0", lifecycleXML(otherRule), 0, "", nil, ""},
		{"ours on the whole bucket, scoped now", lifecycleXML(ourRuleOn("", "7")), 7, "PUT", []string{LifecycleRuleID}, "7"},
		{"ours on another layout's prefix", lifecycleXML(ourRuleOn("AWSLogs/", "7")), 7, "PUT", []string{LifecycleRuleID}, "7"},
		{"ours without the abort of incomplete uploads", lifecycleXML(ourOlderRule("7")), 7, "PUT", []string{LifecycleRuleID}, "7"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeS3("AKID")
			f.buckets["bkt"] = true
			f.lifecycle["bkt"] = tt.existing
			c := newTestClient(t, f, nil)
			if err := c.ensureLifecycle(context.Background(), "bkt", tt.days, "elb-access-"); err != nil {
				t.Fatalf("ensureLifecycle: %v", err)
			}
			want := []string{"GET /bkt?lifecycle"}
			if tt.wantReq != "" {
				want = append(want, tt.wantReq+" /bkt?lifecycle")
			}
			if got := f.sent(); strings.Join(got, ",") != strings.Join(want, ",") {
				t.Fatalf("requests: got %v, want %v", got, want)
			}
			if tt.wantReq != "PUT" {
				return
			}
			body := f.lifecycle["bkt"]
			var ids []string
			for _, part := range strings.Split(body, "<ID>")[1:] {
				ids = append(ids, part[:strings.Index(part, "</ID>")])
			}
			if strings.Join(ids, ",") != strings.Join(tt.wantIDs, ",") {
				t.Errorf("rule ids: got %v, want %v (%s)", ids, tt.wantIDs, body)
			}
			if strings.Contains(body, "keep-me") && !strings.Contains(body, "<Prefix>tmp/</Prefix>") {
				t.Errorf("the other rule changed: %s", body)
			}
			if tt.wantDays != "" && !strings.Contains(body, "<Filter><Prefix>elb-access-</Prefix></Filter>") {
				t.Errorf("our rule is not scoped to elb-access-: %s", body)
			}
			if tt.wantDays != "" && !strings.Contains(body, "<ID>"+LifecycleRuleID+"</ID>") || tt.wantDays != "" && !strings.Contains(body, "<Days>"+tt.wantDays+"</Days>") {
				t.Errorf("our rule with %s days missing: %s", tt.wantDays, body)
			}
		})
	}
}

func TestProvisionErrors(t *testing.T) {
	tests := []struct {
		name    string
		bucket  string
		naming  string
		answers map[string]http.HandlerFunc
		want    error
		cause   string
	}{
		{"dns name with _", "access_logs-lb", NamingDNS, nil, ErrInvalidBucketName, "invalid_bucket_name"},
		{"owned by other", "bkt", "", map[string]http.HandlerFunc{"HEAD /bkt": s3Error(403, ""), "PUT /bkt": s3Error(409, "BucketAlreadyExists")}, ErrBucketOwnedByOther, "bucket_owned_by_other"},
		{"acl denied", "bkt", "", map[string]http.HandlerFunc{"PUT /bkt?acl": s3Error(403, "AccessDenied")}, ErrAccessDenied, "access_denied"},
		{"lifecycle 503", "bkt", "", map[string]http.HandlerFunc{"GET /bkt?lifecycle": s3Error(503, "ServiceUnavailable")}, ErrServer, "server_error"},
		{"test file differs", "bkt", "", map[string]http.HandlerFunc{"GET /bkt/AWSLogs/lbowner/ELBAccessLogTestFile": func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("other")) }}, ErrPreflight, "preflight"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeS3("AKID")
			f.answers = tt.answers
			if f.answers == nil {
				f.answers = map[string]http.HandlerFunc{}
			}
			c := newTestClient(t, f, func(o *Options) { o.BucketNaming = tt.naming })
			err := c.Provision(context.Background(), Bucket{Name: tt.bucket, OwnerAccount: "lbowner", LifecycleDays: 1})
			if !errors.Is(err, tt.want) {
				t.Fatalf("Provision: got %v, want %v", err, tt.want)
			}
			if got := Cause(err); got != tt.cause {
				t.Errorf("Cause: got %q, want %q", got, tt.cause)
			}
			if !strings.Contains(err.Error(), tt.bucket) || !strings.HasPrefix(err.Error(), "uploader: ") {
				t.Errorf("error %q: want the uploader: prefix and the bucket", err)
			}
		})
	}
}

// An object store that predates the <Filter> element gets the rule with
// <Prefix> in the rule itself.
func TestLifecycleLegacySchema(t *testing.T) {
	f := newFakeS3("AKID")
	f.buckets["bkt"] = true
	f.answers["PUT /bkt?lifecycle"] = func(w http.ResponseWriter, r *http.Request) {
		body := f.requests[len(f.requests)-1].Body // the handler runs with f.mu held
		if strings.Contains(body, "<Filter>") {
			s3Error(400, "MalformedXML")(w, r)
			return
		}
		f.lifecycle["bkt"] = body
	}
	c := newTestClient(t, f, nil)
	if err := c.ensureLifecycle(context.Background(), "bkt", 9, "AWSLogs/"); err != nil {
		t.Fatalf("ensureLifecycle: %v", err)
	}
	want := []string{"GET /bkt?lifecycle", "PUT /bkt?lifecycle", "PUT /bkt?lifecycle"}
	if got := f.sent(); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("requests: got %v, want %v", got, want)
	}
	body := f.lifecycle["bkt"]
	if !strings.Contains(body, "<Prefix>AWSLogs/</Prefix>") || strings.Contains(body, "<Filter>") || !strings.Contains(body, "<Days>9</Days>") {
		t.Errorf("legacy lifecycle XML: %s", body)
	}
	// The legacy rule is recognised as ours: the next round writes nothing.
	f.requests = nil
	if err := c.ensureLifecycle(context.Background(), "bkt", 9, "AWSLogs/"); err != nil {
		t.Fatalf("ensureLifecycle again: %v", err)
	}
	if got := f.sent(); strings.Join(got, ",") != "GET /bkt?lifecycle" {
		t.Errorf("requests the second time: got %v", got)
	}
}

// redirect sends every request to the fake, whatever host it names.
type redirect struct{ to *url.URL }

func (r redirect) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	req.URL.Scheme, req.URL.Host = r.to.Scheme, r.to.Host
	return http.DefaultTransport.RoundTrip(req)
}

// AWS S3 outside us-east-1 needs a LocationConstraint to create a bucket,
// and ACLs enabled (Object Ownership ObjectWriter); custom endpoints
// (radosgw, OSG) get neither.
func TestCreateBucketLocation(t *testing.T) {
	tests := []struct {
		name, region string
		custom       bool
		want         string
	}{
		{"aws eu-west-1", "eu-west-1", false, "<LocationConstraint>eu-west-1</LocationConstraint>"},
		{"aws us-east-1", "us-east-1", false, ""},
		{"custom endpoint", "eu-west-1", true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeS3("AKID")
			u, _ := url.Parse(f.start(t))
			opts := Options{Region: tt.region, AccessKeyID: "AKID", SecretAccessKey: "s", PathStyle: true,
				HTTPClient: &http.Client{Transport: redirect{u}}}
			if tt.custom {
				opts.Endpoint = u.String()
			}
			c, err := New(opts)
			if err != nil {
				t.Fatal(err)
			}
			if err := c.EnsureBucket(context.Background(), "bkt"); err != nil {
				t.Fatalf("EnsureBucket: %v", err)
			}
			create := f.last("PUT /bkt")
			if create == nil {
				t.Fatalf("no PUT /bkt: %v", f.sent())
			}
			if (tt.want == "") != (create.Body == "") || !strings.Contains(create.Body, tt.want) {
				t.Errorf("create body: got %q, want %q", create.Body, tt.want)
			}
			wantOwnership := map[bool]string{false: "ObjectWriter", true: ""}[tt.custom]
			if got := create.Header.Get("X-Amz-Object-Ownership"); got != wantOwnership {
				t.Errorf("x-amz-object-ownership: got %q, want %q", got, wantOwnership)
			}
		})
	}
}

// TestProvisionWritesOnlyWhatDiffers provisions a bucket, lets one setting
// drift on the store, and checks that provisioning again reads everything
// and writes only what drifted.
func TestProvisionWritesOnlyWhatDiffers(t *testing.T) {
	const name = "logs-drift"
	bk := "/" + name
	test := bk + "/AWSLogs/lbowner/ELBAccessLogTestFile"
	reads := []string{"HEAD " + bk, "GET " + bk + "?acl", "GET " + bk + "?lifecycle", "GET " + test}
	tests := []struct {
		name  string
		drift func(f *fakeS3)
		b     Bucket
		want  []string // requests of the second Provision
	}{
		{"nothing changed", func(*fakeS3) {}, Bucket{}, reads},
		{"public grant added", func(f *fakeS3) {
			f.acls[name] += `<Grant><Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="Group"><URI>http://acs.amazonaws.com/groups/global/AllUsers</URI></Grantee><Permission>READ</Permission></Grant>`
		}, Bucket{}, []string{"HEAD " + bk, "GET " + bk + "?acl", "PUT " + bk + "?acl", "GET " + bk + "?lifecycle", "GET " + test}},
		{"owner grant removed", func(f *fakeS3) {
			f.acls[name] = `<Grant><Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="CanonicalUser"><ID>logger</ID></Grantee><Permission>FULL_CONTROL</Permission></Grant>`
		}, Bucket{}, []string{"HEAD " + bk, "GET " + bk + "?acl", "PUT " + bk + "?acl", "GET " + bk + "?lifecycle", "GET " + test}},
		{"lifecycle days changed", func(*fakeS3) {}, Bucket{LifecycleDays: 7},
			[]string{"HEAD " + bk, "GET " + bk + "?acl", "GET " + bk + "?lifecycle", "PUT " + bk + "?lifecycle", "GET " + test}},
		{"test file deleted", func(f *fakeS3) { delete(f.objects, name+"/AWSLogs/lbowner/ELBAccessLogTestFile") }, Bucket{},
			[]string{"HEAD " + bk, "GET " + bk + "?acl", "GET " + bk + "?lifecycle", "GET " + test, "PUT " + test, "GET " + test}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeS3("AKID")
			c := newTestClient(t, f, nil)
			b := Bucket{Name: name, OwnerAccount: "lbowner", LifecycleDays: 30, LBName: "lb"}
			if err := c.Provision(context.Background(), b); err != nil {
				t.Fatalf("Provision: %v", err)
			}
			f.mu.Lock()
			tt.drift(f)
			f.requests = nil
			f.mu.Unlock()
			if tt.b.LifecycleDays != 0 {
				b.LifecycleDays = tt.b.LifecycleDays
			}
			if err := c.Provision(context.Background(), b); err != nil {
				t.Fatalf("Provision again: %v", err)
			}
			if got := f.sent(); strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Errorf("requests:\n got %v\nwant %v", got, tt.want)
			}
		})
	}
}

func TestProvisionUserOwnedBucket(t *testing.T) {
	f := newFakeS3("AKID")
	c := newTestClient(t, f, nil)
	f.buckets["users-own-bucket"] = true // the load balancer owner made it
	b := Bucket{Name: "users-own-bucket", OwnerAccount: "lbowner", LifecycleDays: 30, Prefix: "logs/", LBName: "lb", UserOwned: true}
	if err := c.Provision(context.Background(), b); err != nil {
		t.Fatalf("Provision: %v", err)
	}
	test := "/" + b.Name + "/logs/AWSLogs/lbowner/ELBAccessLogTestFile"
	want := []string{"GET " + test, "PUT " + test, "GET " + test}
	if got := f.sent(); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("requests (no create, ACL or lifecycle call):\n got %v\nwant %v", got, want)
	}
	if got, want := headerSubset(f.last("PUT "+test).Header, "X-Amz-Acl", "X-Amz-Grant-Read", "X-Amz-Grant-Full-Control"), "x-amz-acl: bucket-owner-full-control"; got != want {
		t.Errorf("test file ACL headers:\n got %s\nwant %s", got, want)
	}

	// Written once: a later provisioning of the same destination (a
	// restart, the daily check) neither reads nor writes it again.
	f.requests = nil
	b.TestFileWritten = true
	if err := c.Provision(context.Background(), b); err != nil {
		t.Fatalf("Provision with the test file written: %v", err)
	}
	if got := f.sent(); len(got) != 0 {
		t.Errorf("requests once the test file was written: got %v, want none", got)
	}

	f.requests = nil
	b.OwnerAccount = ""
	if err := c.Provision(context.Background(), b); err == nil {
		t.Errorf("Provision of a user-owned bucket without an owner account: got nil error, want one")
	}
	if got := f.sent(); len(got) != 0 {
		t.Errorf("requests without an owner account: got %v, want none", got)
	}
}
