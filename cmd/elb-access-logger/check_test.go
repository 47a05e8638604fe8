package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// eucaMetadata answers like a Eucalyptus metadata service: no IMDSv2
// token (the PUT is refused), plain GETs.
func eucaMetadata(t *testing.T) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		values := map[string]string{
			"/latest/meta-data/instance-id":     "i-315dd646",
			"/latest/meta-data/security-groups": "euca-internal-123456789012-web-lb",
			"/latest/meta-data/public-ipv4":     "203.0.113.10",
		}
		v, ok := values[r.URL.Path]
		if r.Method != http.MethodGet || !ok {
			http.NotFound(w, r)
			return
		}
		w.Write([]byte(v))
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestCheckConfig(t *testing.T) {
	dir := t.TempDir()
	md := eucaMetadata(t)
	servo := filepath.Join(dir, "servo.conf")
	if err := os.WriteFile(servo, []byte("objectstorage_service_url=osg.example.com\nwebservice_port=8773\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	servoNoEquals := filepath.Join(dir, "servo-bad.conf")
	if err := os.WriteFile(servoNoEquals, []byte("objectstorage_service_url=osg.example.com\nsome words\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, props string
		wantCode    int
		wantOut     []string // regexps, each must match a line of stdout
		wantErr     string
	}{
		{"valid with every source", "objectstorage.servo_conf = " + servo + "\nmetadata.endpoint = " + md + "\nobjectstorage.access_key_id = AKID\nobjectstorage.secret_access_key = do-not-show\n", exitOK, []string{
			`^# .*access-log.properties: valid$`,
			`^access_log.enabled = true +# default$`,
			`^access_log.lb_name = web-lb +# metadata$`,
			`^access_log.owner_account = 123456789012 +# metadata$`,
			`^access_log.node_ip = 203.0.113.10 +# metadata$`,
			`^objectstorage.endpoint = http://osg.example.com:8773/services/objectstorage +# servo.conf .*servo.conf:1$`,
			`^objectstorage.secret_access_key = \*\*\*\*\*\*\*\* +# file .*access-log.properties:4$`,
			`^# lifecycle: rule elb-access-logger-expiration expires the objects under prefix "elb-access-" after 30 days, and their incomplete multipart uploads after a day \(other objects and rules kept\)$`,
		}, ""},
		{"lifecycle of the aws layout", "objectstorage.servo_conf =\naccess_log.key_layout = aws\naccess_log.prefix = /logs/\naccess_log.lifecycle_days = 7\n", exitOK, []string{
			`^# lifecycle: rule elb-access-logger-expiration expires the objects under prefix "logs/AWSLogs/" after 7 days`,
		}, ""},
		{"no lifecycle", "objectstorage.servo_conf =\naccess_log.lifecycle_days = 0\n", exitOK, []string{
			`^# lifecycle: remove rule elb-access-logger-expiration if present \(other rules kept\)$`,
		}, ""},
		{"storage defaults", "objectstorage.servo_conf =\n", exitOK, []string{
			`^# storage: no server-side encryption asked \(the bucket's default applies\), the store's standard storage class$`,
			`^objectstorage.sse = none +# default$`,
		}, ""},
		{"encryption and class", "objectstorage.servo_conf =\nobjectstorage.sse = aws:kms\nobjectstorage.sse_kms_key_id = alias/logs\nobjectstorage.storage_class = STANDARD_IA\n", exitOK, []string{
			`^# storage: server-side encryption aws:kms with alias/logs, storage class STANDARD_IA$`,
		}, ""},
		{"KMS key without aws:kms", "objectstorage.servo_conf =\nobjectstorage.sse_kms_key_id = alias/logs\n", exitUsage, nil,
			`access-log.properties:2: objectstorage.sse_kms_key_id: a KMS key id is set but server-side encryption is "none", not aws:kms`},
		{"metadata down is no error", "objectstorage.servo_conf =\nmetadata.endpoint = http://127.0.0.1:1\n", exitOK, []string{
			`^# metadata http://127.0.0.1:1 did not answer`,
			`^access_log.lb_name = +# default$`,
		}, ""},
		{"servo.conf line without =", "objectstorage.servo_conf = " + servoNoEquals + "\n", exitOK, []string{
			`^# warning: .*servo-bad.conf:2: not a k=v line \(10 bytes\); ignored$`,
			`^objectstorage.endpoint = http://osg.example.com:8773/services/objectstorage +# servo.conf .*servo-bad.conf:1$`,
		}, ""},
		{"listeners", "objectstorage.servo_conf =\nsyslog.listen = udp://127.0.0.1:514, unix:///nonexistent-dir/h.sock, tcp://127.0.0.1:6514\n", exitOK, []string{
			`^# listener udp://127.0.0.1:514: UDP datagrams; the kernel drops`,
			`^# listener unix:///nonexistent-dir/h.sock: unix datagram socket`,
			`^# warning: listener unix:///nonexistent-dir/h.sock: directory /nonexistent-dir of the socket does not exist$`,
			`^# listener tcp://127.0.0.1:6514: TCP syslog \(RFC 6587\)`,
		}, ""},
		{"typo", "objectstorage.servo_conf =\n\naccess_log.emit_intervall = 5\n", exitUsage, nil,
			"access-log.properties:3: access_log.emit_intervall: unknown key; did you mean access_log.emit_interval?"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "access-log.properties")
			if err := os.WriteFile(path, []byte(tt.props), 0o600); err != nil {
				t.Fatal(err)
			}
			var stdout, stderr bytes.Buffer
			err := run(context.Background(), []string{"--check-config", "--config", path}, &stdout, &stderr)
			if got := exitCode(err); got != tt.wantCode {
				t.Fatalf("exit code: got %d, want %d (err %v)", got, tt.wantCode, err)
			}
			if tt.wantErr != "" && (err == nil || !strings.HasSuffix(err.Error(), tt.wantErr) || !strings.HasPrefix(err.Error(), path)) {
				t.Errorf("error: got %v, want %s%s", err, path, tt.wantErr)
			}
			lines := strings.Split(stdout.String(), "\n")
			for _, w := range tt.wantOut {
				re := regexp.MustCompile(w)
				found := false
				for _, l := range lines {
					found = found || re.MatchString(l)
				}
				if !found {
					t.Errorf("no line matches %s in\n%s", w, stdout.String())
				}
			}
			if strings.Contains(stdout.String(), "do-not-show") {
				t.Error("the secret was printed")
			}
		})
	}
}
