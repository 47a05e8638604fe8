package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"
)

// replayInput writes a capture of n stock httplog lines.
func replayInput(t *testing.T, n int) string {
	t.Helper()
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "<158>Nov 25 06:12:36 haproxy[6817]: 127.0.0.1:%d [25/Nov/2026:06:12:36.416] fe_http be_http/s1 0/0/0/6/6 200 185 - - ---- 1/1/0/0/0 0/0 \"GET /n/%d HTTP/1.1\"\n", 1024+i%60000, i)
	}
	path := filepath.Join(t.TempDir(), "capture.log")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestReplayProgress runs the real binary: under a pseudo-terminal stderr
// shows a progress bar that reaches 100%; on a pipe it shows none, and
// stdout is the same either way.
func TestReplayProgress(t *testing.T) {
	bin := agentBinary(t)
	capture := replayInput(t, 20000)
	props := writeProps(t, "access_log.lb_name = my-loadbalancer\naccess_log.owner_account = 123456789012\n"+
		"access_log.node_ip = 10.0.0.5\naccess_log.instance_id = i-315dd646\nmetadata.endpoint =\nspool.dir = "+t.TempDir()+"\n")
	args := []string{"--config", props, "--replay", capture, "--dry-run"}

	tests := []struct {
		name     string
		terminal bool
	}{{"pseudo-terminal", true}, {"pipe", false}}
	var stdouts []string
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command(bin, args...)
			var stdout, stderr bytes.Buffer
			cmd.Stdout = &stdout
			var ptmx *os.File
			if tt.terminal {
				p, tty, err := pty.Open()
				if err != nil {
					t.Fatalf("open pty: %v", err)
				}
				defer p.Close()
				defer tty.Close()
				ptmx, cmd.Stderr = p, tty
			} else {
				cmd.Stderr = &stderr
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			read := make(chan struct{})
			if ptmx != nil {
				go func() { io.Copy(&stderr, ptmx); close(read) }()
			}
			waitErr := make(chan error, 1)
			go func() { waitErr <- cmd.Wait() }()
			select {
			case err := <-waitErr:
				if err != nil {
					t.Fatalf("replay: %v\n%s", err, stderr.String())
				}
			case <-time.After(60 * time.Second):
				cmd.Process.Kill()
				t.Fatal("replay did not finish within 60s")
			}
			if ptmx != nil {
				cmd.Stderr.(*os.File).Close() // EOF for the reader
				select {
				case <-read:
				case <-time.After(5 * time.Second):
				}
			}
			got := stderr.String()
			bar := strings.Contains(got, "replay") && strings.Contains(got, "100%")
			if bar != tt.terminal {
				t.Errorf("progress bar shown: %v, want %v; stderr:\n%q", bar, tt.terminal, got[:min(len(got), 2000)])
			}
			if !tt.terminal && strings.Contains(got, "\r") {
				t.Errorf("carriage returns on a pipe: %q", got[:min(len(got), 500)])
			}
			if !strings.Contains(got, "lines: 20000") {
				t.Errorf("plan missing from stderr:\n%q", got[max(0, len(got)-1000):])
			}
			stdouts = append(stdouts, stdout.String())
		})
	}
	if len(stdouts) == 2 && stdouts[0] != stdouts[1] {
		t.Errorf("stdout differs between terminal and pipe runs (%d vs %d bytes)", len(stdouts[0]), len(stdouts[1]))
	}
}
