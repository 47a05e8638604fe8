package ingest

import (
	"strings"
	"testing"

	"github.com/elb-access-logger/elb-access-logger/parser"
)

// TestSetLBNameRenamesTheELBLine: the ELB line names the frontend until
// the load balancer's name is known (the identity may come from metadata
// after the start), then the load balancer (SetLBName, which control
// calls with each identity).
func TestSetLBNameRenamesTheELBLine(t *testing.T) {
	in, err := New(&countSink{}, Options{Format: "elb", Enabled: true})
	if err != nil {
		t.Fatal(err)
	}
	var r parser.Record
	line := []byte("<158>Nov 25 17:16:40 haproxy[1]: elb-tcp 25/Nov/2026:17:16:40.626 10.0.0.1:1 10.0.0.2:443 10.0.0.3:9000 fe be/s1 1/1/3 6 7 -- - -")
	if err := parser.NewParser().Parse(line, &r); err != nil {
		t.Fatal(err)
	}
	field := func() string { return strings.Fields(string(in.Encoder().Encode(nil, &r)))[1] }
	if got := field(); got != "fe" {
		t.Errorf("before the identity: got %q, want the frontend name fe", got)
	}
	in.SetLBName("from-metadata")
	if got := field(); got != "from-metadata" {
		t.Errorf("after SetLBName: got %q, want from-metadata", got)
	}
}
