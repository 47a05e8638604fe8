package identity

import (
	"strings"
	"testing"
)

func TestExpandTemplate(t *testing.T) {
	id := Identity{Account: "123456789012", LBName: "my-lb", PublicIPv4: "10.1.2.3", InstanceID: "i-315dd646", Region: "eu-1"}
	got, err := ExpandTemplate("access_logs-{lb_name}_{public_ipv4}_{instance_num}", id)
	if err != nil || got != "access_logs-my-lb_10.1.2.3_315dd646" {
		t.Errorf("got %q, %v", got, err)
	}
	if _, err := ExpandTemplate("x-{account}", Identity{}); err == nil || !strings.Contains(err.Error(), "{account} is not known") {
		t.Errorf("missing value: got %v", err)
	}
	if _, err := ExpandTemplate("x-{account", id); err == nil {
		t.Error("unmatched brace: want error")
	}
}
