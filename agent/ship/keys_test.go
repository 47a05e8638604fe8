package ship

import (
	"strings"
	"testing"
	"time"

	"github.com/elb-access-logger/elb-access-logger/agent/identity"
	"github.com/elb-access-logger/elb-access-logger/agent/spool"
)

func TestObjectKey(t *testing.T) {
	seg := spool.Segment{End: time.Date(2026, 11, 25, 6, 5, 0, 0, time.UTC), Rand: "k3v9x0qa"}
	id := identity.Identity{Account: "123456789012", Region: "eu-west-1", LBName: "my-lb", PublicIPv4: "10.0.0.7"}
	tests := []struct {
		name    string
		dest    Destination
		id      identity.Identity
		want    string
		wantErr string
	}{
		{"seed", Destination{Bucket: "b"}, id, "elb-access-25112026-060500.log", ""},
		{"aws", Destination{Bucket: "b", Prefix: "logs", KeyLayout: "aws"}, id,
			"logs/AWSLogs/123456789012/elasticloadbalancing/eu-west-1/2026/11/25/123456789012_elasticloadbalancing_eu-west-1_my-lb_20261125T0605Z_10.0.0.7_k3v9x0qa.log", ""},
		{"seed gzip", Destination{Bucket: "b", Gzip: true}, id, "elb-access-25112026-060500.log.gz", ""},
		{"aws gzip", Destination{Bucket: "b", KeyLayout: "aws", Gzip: true}, id,
			"AWSLogs/123456789012/elasticloadbalancing/eu-west-1/2026/11/25/123456789012_elasticloadbalancing_eu-west-1_my-lb_20261125T0605Z_10.0.0.7_k3v9x0qa.log.gz", ""},
		{"aws without the node ip", Destination{Bucket: "b", KeyLayout: "aws"}, identity.Identity{Account: "1", Region: "r", LBName: "l"}, "", "node ip"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ObjectKey(tt.dest, tt.id, seg)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got %q, %v; want an error naming the %s", got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("got %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}
