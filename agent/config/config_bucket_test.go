package config

import (
	"strings"
	"testing"
)

func TestObjectStoreKeys(t *testing.T) {
	c := DefaultConfig()
	if c.LifecycleDays != 30 || c.Signature != "v4" || c.BucketNaming != "relaxed" || c.CABundle != "" || c.InsecureSkipTLS || c.CredentialsFile != "" {
		t.Errorf("defaults: got lifecycle %d, signature %q, naming %q, ca %q, insecure %v, creds %q",
			c.LifecycleDays, c.Signature, c.BucketNaming, c.CABundle, c.InsecureSkipTLS, c.CredentialsFile)
	}
	p := writeConfig(t, `access_log.lifecycle_days = 0
objectstorage.signature = v2
objectstorage.bucket_naming = dns
access_log.bucket = access-logs-{lb_name}-{instance_num}
objectstorage.ca_bundle = /etc/pki/osg.pem
objectstorage.insecure_skip_verify = true
objectstorage.credentials_file = /etc/elb-access-logger/credentials
`)
	c, err := LoadConfig(p, true)
	if err != nil {
		t.Fatal(err)
	}
	if c.LifecycleDays != 0 || c.Signature != "v2" || c.BucketNaming != "dns" || c.CABundle != "/etc/pki/osg.pem" || !c.InsecureSkipTLS || c.CredentialsFile != "/etc/elb-access-logger/credentials" {
		t.Errorf("got %+v", c)
	}
}

func TestBucketTemplateNaming(t *testing.T) {
	tests := []struct {
		name, content, want string // want "" means valid
	}{
		{"default template is relaxed", "", ""},
		{"default template breaks dns", "objectstorage.bucket_naming = dns\n",
			`breaks the dns naming rule: only lowercase letters, digits, '.' and '-'`},
		{"dns template", "objectstorage.bucket_naming = dns\naccess_log.bucket = logs-{account}-{region}\naccess_log.key_layout = aws\n", ""},
		{"seed keys of every node in one bucket", "access_log.bucket = logs-{lb_name}\n",
			`access_log.bucket: template "logs-{lb_name}" names no node: with access_log.key_layout = seed every node of the load balancer writes elb-access-<end>.log into this bucket`},
		{"a literal bucket with seed keys", "access_log.key_layout = seed\naccess_log.bucket = my-logs\n", `:2: access_log.bucket: template "my-logs" names no node`},
		{"seed keys apart by instance", "access_log.bucket = logs-{lb_name}-{instance_num}\n", ""},
		{"seed keys apart by address", "access_log.bucket = logs-{public_ipv4}\n", ""},
		{"aws keys name the node", "access_log.bucket = my-logs\naccess_log.key_layout = aws\n", ""},
		{"elb-api mode", "access_log.bucket = my-logs\naccess_log.source = elb-api\n", ""},
		{"override breaks the rule", "objectstorage.bucket_naming = dns\naccess_log.bucket = logs-{lb_name}\naccess_log.lb_name = MyLB\n",
			`"logs-MyLB" breaks the dns naming rule`},
		{"too long for dns", "objectstorage.bucket_naming = dns\naccess_log.bucket = " + strings.Repeat("a", 61) + "-{lb_name}\n", "3 to 63 characters"},
		{"slash never allowed", "access_log.bucket = logs/{lb_name}\n", "breaks the relaxed naming rule"},
		{"too short", "access_log.bucket = {lb_name}\naccess_log.lb_name = a\n", "3 to 255 characters"},
		{"bad naming value", "objectstorage.bucket_naming = strict\n", `objectstorage.bucket_naming: "strict" is not one of relaxed, dns`},
		{"bad signature", "objectstorage.signature = v3\n", `objectstorage.signature: "v3" is not one of v4, v2`},
		{"negative lifecycle", "access_log.lifecycle_days = -1\n", "access_log.lifecycle_days: \"-1\" is not a whole number"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := writeConfig(t, tt.content)
			_, err := LoadConfig(p, true)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("got %v, want valid", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), p) {
				t.Errorf("got %v, want an error naming %s and containing %q", err, p, tt.want)
			}
		})
	}
}
