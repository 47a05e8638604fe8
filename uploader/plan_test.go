package uploader

import (
	"strings"
	"testing"
	"time"
)

func TestPlan(t *testing.T) {
	tests := []struct {
		name string
		b    Bucket
		want []string
	}{
		{"owner and lifecycle", Bucket{Name: "bkt", OwnerAccount: "123456789012", LifecycleDays: 30, Prefix: "p"}, []string{
			"create bucket bkt if missing",
			"check that the uploader's account (ListBuckets' owner, or configured) owns bkt, else stop",
			"put bucket acl bkt: FULL_CONTROL id=<uploader>, READ id=123456789012",
			"lifecycle bkt: rule elb-access-logger-expiration expires the objects under prefix \"elb-access-\" after 30 days, and their incomplete multipart uploads after a day (other objects and rules kept)",
			"put and read back bkt/p/AWSLogs/123456789012/ELBAccessLogTestFile",
		}},
		{"aws layout", Bucket{Name: "bkt", LifecycleDays: 7, KeyLayout: KeyLayoutAWS, Prefix: "/logs/"}, []string{
			"create bucket bkt if missing",
			"check that the uploader's account (ListBuckets' owner, or configured) owns bkt, else stop",
			"put bucket acl bkt: FULL_CONTROL id=<uploader>",
			"lifecycle bkt: rule elb-access-logger-expiration expires the objects under prefix \"logs/AWSLogs/\" after 7 days, and their incomplete multipart uploads after a day (other objects and rules kept)",
		}},
		{"no owner, no lifecycle", Bucket{Name: "bkt"}, []string{
			"create bucket bkt if missing",
			"check that the uploader's account (ListBuckets' owner, or configured) owns bkt, else stop",
			"put bucket acl bkt: FULL_CONTROL id=<uploader>",
			"lifecycle bkt: remove rule elb-access-logger-expiration if present (other rules kept)",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.b.Plan(); strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("Plan:\n got %q\nwant %q", got, tt.want)
			}
		})
	}
	for _, b := range []Bucket{{}, {KeyLayout: KeyLayoutAWS}, {KeyLayout: KeyLayoutAWS, Prefix: "p/q"}} {
		key := SeedKey(time.Now())
		if b.KeyLayout == KeyLayoutAWS {
			key = AWSKey(AWSKeyParams{Prefix: b.Prefix, Account: "1", Region: "r", LBName: "lb", End: time.Now(), NodeIP: "10.0.0.1", Random: "x"})
		}
		if !strings.HasPrefix(key, b.LifecyclePrefix()) {
			t.Errorf("%s layout, prefix %q: key %s is not under the lifecycle prefix %s", b.KeyLayout, b.Prefix, key, b.LifecyclePrefix())
		}
	}
	o := Object{Bucket: "bkt", Key: "elb-access-01122026-040500.log", Size: 42, OwnerAccount: "123456789012"}
	if got, want := o.Plan(), "put bkt/elb-access-01122026-040500.log (42 bytes, Content-Type: text/plain, Content-MD5, x-amz-grant-read: id=123456789012, x-amz-grant-full-control: id=<uploader>)"; got != want {
		t.Errorf("Object.Plan:\n got %s\nwant %s", got, want)
	}
}
