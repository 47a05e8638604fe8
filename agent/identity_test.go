package agent

import (
	"github.com/elb-access-logger/elb-access-logger/agent/identity"
	"github.com/elb-access-logger/elb-access-logger/agent/identity/identitytest"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/elb-access-logger/elb-access-logger/parser"
)

// TestEncoderFollowsIdentity: the ELB line names the load balancer of the
// identity, which metadata may supply after the agent started.
func TestEncoderFollowsIdentity(t *testing.T) {
	srv := httptest.NewServer(&identitytest.FakeIMDS{Values: identitytest.EucaValues(), TokenStatus: http.StatusOK})
	defer srv.Close()
	c := testConfig(t)
	c.LBName, c.OwnerAccount = "", ""
	c.MetadataEndpoint, c.MetadataTimeout = srv.URL, 5*time.Second
	var a *Agent
	_, cancel, done := startAgent(t, c, newMemUploader(), func(x *Agent) { a = x })
	defer func() { cancel(); <-done }()
	var r parser.Record
	line := []byte("<158>Nov 25 17:16:40 haproxy[1]: elb-tcp 25/Nov/2026:17:16:40.626 10.0.0.1:1 10.0.0.2:443 10.0.0.3:9000 fe be/s1 1/1/3 6 7 -- - -")
	if err := parser.NewParser().Parse(line, &r); err != nil {
		t.Fatal(err)
	}
	field := func() string { return strings.Fields(string(a.in.Encoder().Encode(nil, &r)))[1] }
	waitFor(t, "the load balancer of the metadata in the ELB line", func() bool { return field() == "my-web-lb" })
}

// TestOnIdentityHearsTheResolvedIdentity: the function set with OnIdentity
// is told the identity metadata completed, region included (the command
// signs for that region).
func TestOnIdentityHearsTheResolvedIdentity(t *testing.T) {
	values := identitytest.EucaValues()
	values["placement/availability-zone"] = "eu-west-1a"
	srv := httptest.NewServer(&identitytest.FakeIMDS{Values: values, TokenStatus: http.StatusOK})
	defer srv.Close()
	c := testConfig(t)
	c.LBName, c.OwnerAccount = "", ""
	c.MetadataEndpoint, c.MetadataTimeout = srv.URL, 5*time.Second
	got := make(chan identity.Identity, 1)
	_, cancel, done := startAgent(t, c, newMemUploader(), func(a *Agent) { a.OnIdentity(func(id identity.Identity) { got <- id }) })
	defer func() { cancel(); <-done }()
	select {
	case id := <-got:
		if id.Region != "eu-west-1" || id.LBName != "my-web-lb" {
			t.Errorf("got %+v, want region eu-west-1 and lb my-web-lb from metadata", id)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("OnIdentity not called")
	}
}
