package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/elb-access-logger/elb-access-logger/agent/spool"
	"github.com/elb-access-logger/elb-access-logger/agent/spool/spooltest"
	"github.com/elb-access-logger/elb-access-logger/internal/testbed"
)

// TestSecondInstanceOnOneSpoolExits1: a second agent on the spool
// directory of a running one exits 1 with a clear message and changes
// nothing in it (issue 16, item 20).
func TestSecondInstanceOnOneSpoolExits1(t *testing.T) {
	spoolDir := t.TempDir()
	props := func(port int) string {
		return writeProps(t, fmt.Sprintf(`access_log.lb_name = my-lb
access_log.owner_account = 123456789012
access_log.node_ip = 10.0.0.5
access_log.instance_id = i-315dd646
metadata.endpoint =
objectstorage.endpoint = http://127.0.0.1:1
objectstorage.access_key_id = test
objectstorage.secret_access_key = test
syslog.listen = udp://127.0.0.1:%d
metrics.listen = 127.0.0.1:0
spool.dir = %s
`, port, spoolDir))
	}
	ctx, cancel := context.WithCancel(context.Background())
	firstErr := &testbed.Buffer{}
	var firstRun error
	first := make(chan struct{})
	go func() {
		defer close(first)
		firstRun = run(ctx, []string{"--config", props(testbed.FreeUDPPort(t))}, &bytes.Buffer{}, firstErr)
	}()
	defer func() { cancel(); <-first }()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(spooltest.Listing(t, spoolDir), "sealed-through-") {
		if time.Now().After(deadline) {
			t.Fatalf("the first agent did not open its spool:\n%s", firstErr.String())
		}
		select {
		case <-first:
			t.Fatalf("the first agent stopped: %v\n%s", firstRun, firstErr.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	before := spooltest.Listing(t, spoolDir)
	var stderr bytes.Buffer
	err := run(context.Background(), []string{"--config", props(testbed.FreeUDPPort(t))}, &bytes.Buffer{}, &stderr)
	if !errors.Is(err, spool.ErrLocked) {
		t.Fatalf("second instance: got %v, want spool.ErrLocked\n%s", err, stderr.String())
	}
	if code := exitCode(err); code != exitRuntime {
		t.Errorf("exit code: got %d, want %d", code, exitRuntime)
	}
	if !strings.Contains(err.Error(), spoolDir) || !strings.Contains(err.Error(), "another elb-access-logger") {
		t.Errorf("message: got %q, want the spool directory and who holds it named", err)
	}
	if after := spooltest.Listing(t, spoolDir); after != before {
		t.Errorf("the second instance changed the spool:\nbefore\n%s\nafter\n%s", before, after)
	}
	select {
	case <-first:
		t.Fatalf("the first agent stopped: %v\n%s", firstRun, firstErr.String())
	default:
	}
}
