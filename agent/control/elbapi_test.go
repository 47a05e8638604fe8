package control

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/elb-access-logger/elb-access-logger/agent/config"
	"github.com/elb-access-logger/elb-access-logger/internal/testbed"
	"github.com/elb-access-logger/elb-access-logger/uploader"
)

func TestAccessLogCheck(t *testing.T) {
	tests := []struct {
		name    string
		attr    AccessLog
		wantErr string // "" means valid
	}{
		{"disabled needs nothing", AccessLog{}, ""},
		{"aws 5", AccessLog{true, "my-logs", "", 5}, ""},
		{"aws 60 with prefix", AccessLog{true, "my-logs", "a/b", 60}, ""},
		{"eucalyptus 7", AccessLog{true, "my-logs", "", 7}, ""},
		{"interval 4", AccessLog{true, "my-logs", "", 4}, "EmitInterval 4: must be from 5 to 60"},
		{"interval 61", AccessLog{true, "my-logs", "", 61}, "EmitInterval 61"},
		{"no bucket", AccessLog{true, "", "", 5}, "S3BucketName"},
		{"template braces", AccessLog{true, "logs-{lb_name}", "", 5}, "S3BucketName"},
		{"AWSLogs prefix", AccessLog{true, "my-logs", "x/AWSLogs", 5}, "must not contain AWSLogs"},
		{"control char prefix", AccessLog{true, "my-logs", "a\nb", 5}, "control characters"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.attr.check(uploader.NamingDNS)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("check: got %v, want nil", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("check: got %v, want an error containing %q", err, tt.wantErr)
			}
		})
	}
}

// TestEmitIntervalWindows checks the Eucalyptus semantics: windows end at
// the minutes of each UTC hour that are multiples of the interval, the
// last of the hour shorter.
func TestEmitIntervalWindows(t *testing.T) {
	at := func(s string) time.Time {
		tm, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	tests := []struct {
		interval int
		schedule string // in the file: wins over the attribute
		from     string
		want     []string
	}{
		{5, "", "2026-11-25T06:52:10Z", []string{"06:55", "07:00", "07:05"}},
		{60, "", "2026-11-25T06:52:10Z", []string{"07:00", "08:00"}},
		{7, "", "2026-11-25T06:48:00Z", []string{"06:49", "06:56", "07:00", "07:07"}},
		{45, "", "2026-11-25T06:10:00Z", []string{"06:45", "07:00", "07:45"}},
		{7, "0 */30 * * * *", "2026-11-25T06:48:00Z", []string{"07:00", "07:30"}},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%d %s", tt.interval, tt.schedule), func(t *testing.T) {
			base := config.DefaultConfig()
			base.Source, base.Schedule = config.SourceELBAPI, tt.schedule
			c := effectiveConfig(base, &AccessLog{Enabled: true, Bucket: "b-1", EmitInterval: tt.interval})
			s, err := config.WindowSchedule(c)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for tm := at(tt.from); len(got) < len(tt.want); {
				tm = config.NextWindowEnd(s, tm)
				got = append(got, tm.Format("15:04"))
			}
			if strings.Join(got, " ") != strings.Join(tt.want, " ") {
				t.Errorf("window ends: got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestEffectiveConfig(t *testing.T) {
	base := config.DefaultConfig()
	base.Source = config.SourceELBAPI
	base.Bucket, base.KeyLayout, base.LifecycleDays = "file-{lb_name}", "seed", 30
	tests := []struct {
		name string
		attr *AccessLog
		want func(c *config.Config) string // "" when right
	}{
		{"unknown keeps logging off", nil, func(c *config.Config) string {
			if c.Enabled {
				return "enabled, want disabled"
			}
			return ""
		}},
		{"enabled", &AccessLog{true, "users-bucket", "pre", 5}, func(c *config.Config) string {
			if !c.Enabled || c.Bucket != "users-bucket" || c.KeyPrefix != "pre" || c.KeyLayout != "aws" || c.EmitInterval != 5 || !c.UserBucket {
				return fmt.Sprintf("got enabled %v bucket %q prefix %q layout %q interval %d user %v",
					c.Enabled, c.Bucket, c.KeyPrefix, c.KeyLayout, c.EmitInterval, c.UserBucket)
			}
			if o := c.Origin("access_log.bucket"); o.Source != config.SourceELBAPI {
				return "bucket origin " + o.String()
			}
			return ""
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if msg := tt.want(effectiveConfig(base, tt.attr)); msg != "" {
				t.Error(msg)
			}
			if base.Bucket != "file-{lb_name}" || base.Enabled != true {
				t.Errorf("base changed: bucket %q enabled %v", base.Bucket, base.Enabled)
			}
		})
	}
	props := config.DefaultConfig()
	if got := effectiveConfig(props, &AccessLog{true, "x-y-z", "", 5}); got != props {
		t.Errorf("properties mode: the attribute changed the configuration")
	}
}

func TestServoConfELBServiceURL(t *testing.T) {
	tests := []struct{ servo, want string }{
		{"elb_service_url=http://elb.example.com:8773/services/LoadBalancing\n", "http://elb.example.com:8773/services/LoadBalancing"},
		{"elb_service_url=10.1.1.1\nwebservice_port=8080\n", "http://10.1.1.1:8080/services/LoadBalancing"},
	}
	for _, tt := range tests {
		dir := t.TempDir()
		servo := testbed.WriteFile(t, dir, "servo.conf", tt.servo)
		props := testbed.WriteFile(t, dir, "a.properties", "objectstorage.servo_conf = "+servo+"\n")
		c, err := config.LoadConfig(props, true)
		if err != nil {
			t.Fatal(err)
		}
		if c.ELBEndpoint != tt.want {
			t.Errorf("elb.endpoint from %q: got %q, want %q", tt.servo, c.ELBEndpoint, tt.want)
		}
	}
}

func TestLoadELBState(t *testing.T) {
	tests := []struct {
		name, content string // content "" means no file
		wantErr       string
		wantAttr      *AccessLog
	}{
		{"no file", "", "", nil},
		{"attribute and pin", `{"access_log":{"enabled":true,"s3_bucket_name":"b-1","s3_bucket_prefix":"p","emit_interval":5},"pinned":{"window-20261125T061000Z-abcdefgh.log":{"bucket":"b-0"}}}`, "", &AccessLog{true, "b-1", "p", 5}},
		{"garbage", `{"access_log":`, "parse ", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if tt.content != "" {
				testbed.WriteFile(t, dir, elbStateFile, tt.content)
			}
			st, err := loadELBState(nil, dir)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("got %v, want nil", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), elbStateFile)):
				t.Fatalf("got %v, want an error naming %s and containing %q", err, elbStateFile, tt.wantErr)
			}
			if (st.AccessLog == nil) != (tt.wantAttr == nil) || (st.AccessLog != nil && *st.AccessLog != *tt.wantAttr) {
				t.Errorf("attribute: got %+v, want %+v", st.AccessLog, tt.wantAttr)
			}
		})
	}
}
