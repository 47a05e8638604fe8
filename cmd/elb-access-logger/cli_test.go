package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// runBinary runs the built agent with args, at most for d, and returns its
// stdout, stderr and exit code (-1 when it had to be killed).
func runBinary(t *testing.T, d time.Duration, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	cmd := exec.CommandContext(ctx, agentBinary(t), args...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		code = 0
	case ctx.Err() != nil:
		code = -1
	case errors.As(err, &ee):
		code = ee.ExitCode()
	default:
		t.Fatalf("%v: %v", args, err)
	}
	return o.String(), e.String(), code
}

// --dry-run alone used to start the live agent (bind, upload): it is a
// usage error, and nothing is bound.
func TestDryRunNeedsReplay(t *testing.T) {
	port := freeUDPPort(t)
	props := writeProps(t, fmt.Sprintf("metadata.endpoint =\naccess_log.lb_name = lb\naccess_log.owner_account = 123456789012\n"+
		"access_log.node_ip = 10.0.0.5\naccess_log.instance_id = i-315dd646\nobjectstorage.endpoint = http://127.0.0.1:1\nobjectstorage.access_key_id = K\nobjectstorage.secret_access_key = S\n"+
		"spool.dir = %s\nsyslog.listen = udp://127.0.0.1:%d\nmetrics.listen =\n", t.TempDir(), port))
	stdout, stderr, code := runBinary(t, 10*time.Second, "--config", props, "--dry-run")
	if code != exitUsage {
		t.Fatalf("--dry-run without --replay: exit code %d, want %d\nstderr:\n%s", code, exitUsage, stderr)
	}
	if !strings.Contains(stderr, "--dry-run needs --replay") {
		t.Errorf("stderr %q: want it to say --dry-run needs --replay", stderr)
	}
	if strings.Contains(stderr, "listening") || stdout != "" {
		t.Errorf("the agent started: stdout %q, stderr %q", stdout, stderr)
	}
}
