package uploader

import (
	"errors"
	"strings"
	"testing"
)

func TestValidateBucketName(t *testing.T) {
	tests := []struct {
		name, naming string
		wantRule     string // "" means valid
	}{
		{"access_logs-my-lb_203.0.113.7_315dd646", NamingRelaxed, ""},
		{"Access_Logs.X", NamingRelaxed, ""},
		{"ab", NamingRelaxed, "3 to 255 characters"},
		{strings.Repeat("a", 256), NamingRelaxed, "3 to 255 characters"},
		{"logs/lb", NamingRelaxed, "only letters, digits, '.', '-' and '_'"},
		{"logs lb", NamingRelaxed, "only letters, digits"},
		{"access-logs-my-lb", NamingDNS, ""},
		{"logs.example.com", NamingDNS, ""},
		{"access_logs-my-lb", NamingDNS, "only lowercase letters, digits, '.' and '-'"},
		{"Logs", NamingDNS, "only lowercase letters"},
		{strings.Repeat("a", 64), NamingDNS, "3 to 63 characters"},
		{"-logs", NamingDNS, "must begin and end"},
		{"logs.", NamingDNS, "must begin and end"},
		{"logs..lb", NamingDNS, "no two adjacent periods"},
		{"logs.-lb", NamingDNS, "no dash next to a period"},
		{"192.168.5.4", NamingDNS, "IP address"},
		{"xn--logs", NamingDNS, `must not begin with "xn--"`},
		{"logs-s3alias", NamingDNS, `must not end with "-s3alias"`},
	}
	for _, tt := range tests {
		t.Run(tt.naming+"/"+tt.name[:min(len(tt.name), 20)], func(t *testing.T) {
			err := ValidateBucketName(tt.name, tt.naming)
			if tt.wantRule == "" {
				if err != nil {
					t.Fatalf("got %v, want valid", err)
				}
				return
			}
			var ne *BucketNameError
			if !errors.As(err, &ne) || !errors.Is(err, ErrInvalidBucketName) {
				t.Fatalf("got %v, want a *BucketNameError", err)
			}
			if !strings.Contains(ne.Rule, tt.wantRule) || !strings.Contains(err.Error(), tt.naming+" naming rule") {
				t.Errorf("got %q, want rule %q of %s", err, tt.wantRule, tt.naming)
			}
		})
	}
	if err := ValidateBucketName("abc", "strict"); err == nil || !strings.Contains(err.Error(), `"strict"`) {
		t.Errorf("unknown naming: got %v", err)
	}
}
