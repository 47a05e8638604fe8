package identity

import (
	"context"
	"github.com/elb-access-logger/elb-access-logger/agent/identity/identitytest"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestMetadataFill(t *testing.T) {
	vpc := identitytest.EucaValues()
	delete(vpc, "public-ipv4")
	vpc["network/interfaces/macs/"] = "02:00:00:00:00:01/\n02:00:00:00:00:02/"
	vpc["network/interfaces/macs/02:00:00:00:00:01/vpc-id"] = "vpc-sys"
	vpc["network/interfaces/macs/02:00:00:00:00:01/device-number"] = "0"
	vpc["network/interfaces/macs/02:00:00:00:00:01/public-ipv4s"] = "198.51.100.1"
	vpc["network/interfaces/macs/02:00:00:00:00:02/vpc-id"] = "vpc-user"
	vpc["network/interfaces/macs/02:00:00:00:00:02/device-number"] = "1"
	vpc["network/interfaces/macs/02:00:00:00:00:02/local-ipv4s"] = "172.31.0.9\n172.31.0.10"
	vpcPublic := map[string]string{}
	for k, v := range vpc {
		vpcPublic[k] = v
	}
	vpcPublic["network/interfaces/macs/02:00:00:00:00:02/public-ipv4s"] = "192.0.2.44"

	iam := identitytest.EucaValues()
	iam["security-groups"] = "default"
	iam["iam/info"] = `{"Code":"Success","LastUpdated":"2026-11-25T00:00:00Z","InstanceProfileArn":"arn:aws:iam::000000000001:instance-profile/internal/loadbalancer/loadbalancer-vm-210987654321-lb-with-dashes","InstanceProfileId":"AIPA"}`

	aws := identitytest.EucaValues()
	aws["placement/availability-zone"] = "eu-west-1b"
	noPublic := identitytest.EucaValues()
	delete(noPublic, "public-ipv4")

	want := Identity{Account: "123456789012", LBName: "my-web-lb", PublicIPv4: "203.0.113.10", InstanceID: "i-315dd646"}
	tests := []struct {
		name        string
		values      map[string]string
		tokenStatus int
		have        Identity
		want        Identity
	}{
		{"imdsv2", identitytest.EucaValues(), http.StatusOK, Identity{}, want},
		{"v1 only, put forbidden", identitytest.EucaValues(), http.StatusForbidden, Identity{}, want},
		{"v1 only, put not found", identitytest.EucaValues(), http.StatusNotFound, Identity{}, want},
		{"v1 only, put not allowed", identitytest.EucaValues(), http.StatusMethodNotAllowed, Identity{}, want},
		{"vpc local address of user interface", vpc, http.StatusOK, Identity{},
			Identity{Account: "123456789012", LBName: "my-web-lb", PublicIPv4: "172.31.0.9", InstanceID: "i-315dd646"}},
		{"vpc public address of user interface", vpcPublic, http.StatusOK, Identity{},
			Identity{Account: "123456789012", LBName: "my-web-lb", PublicIPv4: "192.0.2.44", InstanceID: "i-315dd646"}},
		{"instance profile fallback", iam, http.StatusForbidden, Identity{},
			Identity{Account: "210987654321", LBName: "lb-with-dashes", PublicIPv4: "203.0.113.10", InstanceID: "i-315dd646"}},
		{"region from aws zone", aws, http.StatusOK, Identity{},
			Identity{Account: "123456789012", LBName: "my-web-lb", PublicIPv4: "203.0.113.10", InstanceID: "i-315dd646", Region: "eu-west-1"}},
		{"no public address", noPublic, http.StatusOK, Identity{},
			Identity{Account: "123456789012", LBName: "my-web-lb", PublicIPv4: "10.0.0.5", InstanceID: "i-315dd646"}},
		{"overrides kept", identitytest.EucaValues(), http.StatusOK, Identity{LBName: "renamed", PublicIPv4: "192.0.2.1", Region: "r-1"},
			Identity{Account: "123456789012", LBName: "renamed", PublicIPv4: "192.0.2.1", InstanceID: "i-315dd646", Region: "r-1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &identitytest.FakeIMDS{Values: tt.values, TokenStatus: tt.tokenStatus}
			srv := httptest.NewServer(f)
			defer srv.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			got, err := NewMetadataClient(srv.URL, 2*time.Second).Fill(ctx, tt.have)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
			puts, gets, tokenGets := f.Counts()
			if puts == 0 {
				t.Error("no token PUT: IMDSv2 was not tried first")
			}
			if tt.tokenStatus == http.StatusOK && tokenGets != gets {
				t.Errorf("%d of %d GETs carried the token, want all", tokenGets, gets)
			}
		})
	}
}

func TestMetadataFillErrors(t *testing.T) {
	noGroup := identitytest.EucaValues()
	noGroup["security-groups"] = "default\neuca-internal-"
	noID := identitytest.EucaValues()
	delete(noID, "instance-id")
	tests := []struct {
		name   string
		values map[string]string
		want   string
	}{
		{"no lb group", noGroup, `metadata: no security group euca-internal-{account}-{lb_name} (have "default euca-internal-")`},
		{"no instance id", noID, "metadata instance-id: not in instance metadata"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(&identitytest.FakeIMDS{Values: tt.values, TokenStatus: http.StatusOK})
			defer srv.Close()
			_, err := NewMetadataClient(srv.URL, 2*time.Second).Fill(context.Background(), Identity{})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestParseLoadBalancerNames(t *testing.T) {
	tests := []struct {
		in, account, name string
		ok                bool
		profile           bool
	}{
		{"euca-internal-123456789012-web", "123456789012", "web", true, false},
		{"sg-a\neuca-internal-123456789012-my-long-lb-name\n", "123456789012", "my-long-lb-name", true, false},
		{"euca-internal-123456789012", "", "", false, false},
		{"euca-internal-123456789012-", "", "", false, false},
		{"euca-internal-bad_acct!-web\neuca-internal-000000000002-b", "000000000002", "b", true, false},
		{"arn:aws:iam::1:instance-profile/internal/loadbalancer/loadbalancer-vm-123456789012-a-b", "123456789012", "a-b", true, true},
		{"arn:aws:iam::1:instance-profile/baskinc-role", "", "", false, true},
		{"not an arn", "", "", false, true},
	}
	for _, tt := range tests {
		parse := fromSecurityGroups
		if tt.profile {
			parse = fromInstanceProfile
		}
		a, n, ok := parse(tt.in)
		if a != tt.account || n != tt.name || ok != tt.ok {
			t.Errorf("%q: got %q %q %v, want %q %q %v", tt.in, a, n, ok, tt.account, tt.name, tt.ok)
		}
	}
}
