package identity_test

import (
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	neturl "net/url"
	"sync"
	"testing"
	"time"

	"github.com/elb-access-logger/elb-access-logger/agent/identity"
	"github.com/elb-access-logger/elb-access-logger/agent/identity/identitytest"
	"github.com/elb-access-logger/elb-access-logger/internal/testbed"
)

func TestMetadataMock(t *testing.T) {
	env := testbed.Require(t)
	vpc := identitytest.EucaMockValues()
	vpc["mac-vpc-id"] = "vpc-d295a6a7"
	vpc["mac-public-ipv4s"] = ""
	vpc["mac-local-ipv4s"] = "172.31.0.9"
	profile := identitytest.EucaMockValues()
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
		{"eucalyptus values, v1 and v2 served", identitytest.EucaMockValues(), both, want},
		{"IMDSv2 required", identitytest.EucaMockValues(), v2only, want},
		{"v1 only, token PUT refused (Eucalyptus)", identitytest.EucaMockValues(), v1only, want},
		{"vpc user-facing interface", vpc, v2only,
			identity.Identity{Account: "123456789012", LBName: "my-web-lb", PublicIPv4: "172.31.0.9", InstanceID: "i-315dd646", Region: "eucalyptus"}},
		{"instance profile, v1 only", profile, v1only,
			identity.Identity{Account: "210987654321", LBName: "lb-2", PublicIPv4: "203.0.113.10", InstanceID: "i-315dd646", Region: "eucalyptus"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			url := identitytest.StartMock(t, env, tt.values, tt.mode == v2only)
			var v1 *v1OnlyProxy
			if tt.mode == v1only {
				v1 = newV1OnlyProxy(t, url)
				url = v1.url
			}
			got, err := identity.NewMetadataClient(url, 5*time.Second).Fill(testbed.Context(t, 20*time.Second), identity.Identity{})
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
