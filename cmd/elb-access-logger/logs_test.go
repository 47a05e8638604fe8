package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// log.level = debug and log.format = json reach the binary's own records
// (the object store's options, a debug record), in replay as in the
// agent, with no secret in them.
func TestLogLevelAndFormatFromTheFile(t *testing.T) {
	props := writeProps(t, startableProps(t, "")+"log.level = debug\nlog.format = json\n")
	capture := filepath.Join(t.TempDir(), "capture.log")
	if err := os.WriteFile(capture, []byte("<158>Nov 25 06:12:36 haproxy[1]: a line\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, stderr, _ := runBinary(t, 60*time.Second, "--config", props, "--replay", capture)
	var found bool
	for _, line := range strings.Split(stderr, "\n") {
		if !strings.HasPrefix(line, "{") {
			continue
		}
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Errorf("log record %q: %v", line, err)
		}
		if rec["level"] == "DEBUG" && rec["msg"] == "object store" {
			found = true
		}
	}
	if !found || strings.Contains(stderr, "secret_access_key=S") || strings.Contains(stderr, `"S"`) {
		t.Errorf("stderr lacks the debug record in JSON, or shows the secret:\n%s", stderr)
	}
}
