package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeProps(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "access-log.properties")
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestReplayDryRun replays a capture of stock HAProxy: stdout must be the
// ELB lines exactly as stored (the golden file), stderr the plan.
func TestReplayDryRun(t *testing.T) {
	props := writeProps(t, "access_log.lb_name = my-loadbalancer\naccess_log.owner_account = 123456789012\n"+
		"access_log.node_ip = 10.0.0.5\naccess_log.instance_id = i-315dd646\nmetadata.endpoint =\n")
	tests := []struct {
		capture, format, golden string
		stderr                  []string
	}{
		{"stock-httplog.log", "elb", "stock-httplog.elb", []string{"bucket: access_logs-my-loadbalancer_10.0.0.5_315dd646 ", "READ for 123456789012", "lines: 7;", "unparsed (kept raw): 0;", "httplog: 7"}},
		{"handmade.log", "raw", "handmade.raw", []string{"lines: 9;", "unparsed (kept raw): 3;"}},
		{"elb-http-truncated-request.log", "json", "elb-http-truncated-request.json", []string{"unparsed (kept raw): 0; truncated: 6"}},
	}
	for _, tt := range tests {
		t.Run(tt.capture, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			cfg := writeProps(t, mustRead(t, props)+"access_log.format = "+tt.format+"\n")
			err := run(context.Background(), []string{"--config", cfg, "--replay", filepath.Join("../../testdata/haproxy", tt.capture), "--dry-run"}, &stdout, &stderr)
			if err != nil {
				t.Fatalf("run: %v\n%s", err, stderr.String())
			}
			want := mustRead(t, filepath.Join("../../testdata/golden", tt.golden))
			if tt.capture != "handmade.log" && stdout.String() != want {
				t.Errorf("stdout:\n got %s\nwant %s", stdout.String(), want)
			}
			if got := strings.Count(stdout.String(), "\n"); got != strings.Count(want, "\n") {
				t.Errorf("stdout lines: got %d, want %d", got, strings.Count(want, "\n"))
			}
			for _, s := range tt.stderr {
				if !strings.Contains(stderr.String(), s) {
					t.Errorf("stderr: want %q in\n%s", s, stderr.String())
				}
			}
		})
	}
}

func TestReplayUsage(t *testing.T) {
	props := writeProps(t, "metadata.endpoint =\n")
	tests := []struct {
		name string
		args []string
	}{
		{"without --dry-run", []string{"--config", props, "--replay", "../../testdata/haproxy/stock-tcplog.log"}},
		{"missing file", []string{"--config", props, "--replay", "/nonexistent/capture.log", "--dry-run"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := run(context.Background(), tt.args, &stdout, &stderr)
			if got := exitCode(err); got != exitUsage {
				t.Errorf("exit code: got %d (%v), want %d", got, err, exitUsage)
			}
		})
	}
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
