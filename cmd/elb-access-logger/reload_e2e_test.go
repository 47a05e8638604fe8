package main

import (
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestBinaryReloadsOnSIGHUP runs the real binary: SIGHUP reloads the
// file; a bad file is rejected with its file:line: key message and the
// agent keeps running; SIGTERM still ends it cleanly.
func TestBinaryReloadsOnSIGHUP(t *testing.T) {
	props := fmt.Sprintf(`syslog.listen = udp://127.0.0.1:%d
spool.dir = %s
access_log.lb_name = lb1
access_log.node_ip = 127.0.0.1
access_log.instance_id = i-5eed0002
access_log.owner_account = lbowner
objectstorage.servo_conf =
objectstorage.endpoint = http://127.0.0.1:1
objectstorage.access_key_id = AKIDEXAMPLE
objectstorage.secret_access_key = not-used
metadata.endpoint =
metrics.listen = 127.0.0.1:0
`, freeUDPPort(t), t.TempDir())
	a := startAgent(t, props)
	path := a.cmd.Args[len(a.cmd.Args)-1]
	waitStderr := func(what string) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for !strings.Contains(a.stderr.String(), what) {
			if time.Now().After(deadline) {
				t.Fatalf("no %q in the agent's log:\n%s", what, a.stderr.String())
			}
			time.Sleep(50 * time.Millisecond)
		}
	}

	a.cmd.Process.Signal(syscall.SIGHUP)
	waitStderr(`msg="configuration reloaded"`)

	if err := os.WriteFile(path, []byte(props+"access_log.emit_intervall = 5\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	a.cmd.Process.Signal(syscall.SIGHUP)
	waitStderr(`msg="configuration rejected; the running configuration stays"`)
	waitStderr(path + `:13: access_log.emit_intervall: unknown key; did you mean access_log.emit_interval?`)
	a.stop(t)
	if strings.Contains(a.stderr.String(), "not-used") {
		t.Error("the secret access key is in the agent's log")
	}
}
