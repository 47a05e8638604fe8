package main

import (
	"bytes"
	"context"
	"errors"
	"github.com/elb-access-logger/elb-access-logger/agent/config"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCheckConfigObjectStore(t *testing.T) {
	dir := t.TempDir()
	creds := filepath.Join(dir, "credentials")
	if err := os.WriteFile(creds, []byte("[default]\naws_access_key_id = K\naws_secret_access_key = SUPERSECRET\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	loose := filepath.Join(dir, "loose")
	if err := os.WriteFile(loose, []byte("[default]\naws_access_key_id = K\naws_secret_access_key = SUPERSECRET\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	os.Chmod(loose, 0o644)
	tests := []struct {
		name, props string
		wantCode    int
		wantErr     string
	}{
		{"credentials file 0600", "objectstorage.credentials_file = " + creds + "\n", exitOK, ""},
		{"credentials file 0644", "objectstorage.credentials_file = " + loose + "\n", exitUsage, "mode 0644"},
		{"v2 needs path style", "objectstorage.access_key_id = K\nobjectstorage.secret_access_key = SUPERSECRET\nobjectstorage.signature = v2\nobjectstorage.path_style = false\n", exitUsage, "path-style"},
		{"missing CA bundle", "objectstorage.access_key_id = K\nobjectstorage.secret_access_key = SUPERSECRET\nobjectstorage.ca_bundle = " + filepath.Join(dir, "none.pem") + "\n", exitUsage, "ca bundle"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "access-log.properties")
			if err := os.WriteFile(p, []byte(tt.props+"spool.dir = "+t.TempDir()+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			var stdout, stderr bytes.Buffer
			err := run(context.Background(), []string{"--config", p, "--check-config"}, &stdout, &stderr)
			var ue usageError
			if got := errors.As(err, &ue); got != (tt.wantCode == exitUsage) || (tt.wantCode == exitOK && err != nil) {
				t.Fatalf("got %v, want exit code %d", err, tt.wantCode)
			}
			if tt.wantErr != "" && !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error %q: want %q", err, tt.wantErr)
			}
			if all := stdout.String() + stderr.String() + errString(err); strings.Contains(all, "SUPERSECRET") {
				t.Errorf("output shows the secret: %s", all)
			}
		})
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func TestNewUploaderLogsNoSecret(t *testing.T) {
	p := filepath.Join(t.TempDir(), "access-log.properties")
	props := "objectstorage.access_key_id = AKIDSHOWN\nobjectstorage.secret_access_key = SUPERSECRET\nobjectstorage.insecure_skip_verify = true\n"
	if err := os.WriteFile(p, []byte(props), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.LoadConfig(p, true)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	if _, err := newUploader(cfg, log); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	if strings.Contains(out, "SUPERSECRET") || !strings.Contains(out, "AKIDSHOWN") || !strings.Contains(out, "not verified") {
		t.Errorf("log: want the key id, the TLS warning and no secret:\n%s", out)
	}
}
