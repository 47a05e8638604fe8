package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/elb-access-logger/elb-access-logger/agent/config"
	"github.com/elb-access-logger/elb-access-logger/internal/cli"
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

// startableProps is a property file the agent starts with, without the
// test bed: the whole identity, a store that is never reached.
func startableProps(t *testing.T, metricsListen string) string {
	return fmt.Sprintf("metadata.endpoint =\naccess_log.lb_name = lb\naccess_log.owner_account = 123456789012\n"+
		"access_log.node_ip = 10.0.0.5\naccess_log.instance_id = i-315dd646\nobjectstorage.endpoint = http://127.0.0.1:1\n"+
		"objectstorage.access_key_id = K\nobjectstorage.secret_access_key = S\n"+
		"spool.dir = %s\nsyslog.listen = udp://127.0.0.1:%d\nmetrics.listen = %s\n", t.TempDir(), freeUDPPort(t), metricsListen)
}

// --dry-run alone used to start the live agent (bind, upload): it is a
// usage error, and nothing is bound.
func TestDryRunNeedsReplay(t *testing.T) {
	props := writeProps(t, startableProps(t, ""))
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

// --help goes to stdout and exits 0; a usage error is said once on stderr
// and exits 2, with nothing on stdout.
func TestHelpAndUsageErrors(t *testing.T) {
	for _, arg := range []string{"--help", "-h", "-help"} {
		stdout, stderr, code := runBinary(t, 10*time.Second, arg)
		if code != exitOK || stderr != "" || !strings.HasPrefix(stdout, "Usage: elb-access-logger ") {
			t.Errorf("%s: exit %d, stderr %q, stdout:\n%s", arg, code, stderr, stdout)
		}
		for _, want := range []string{"  --config FILE\n", "  --gomaxprocs N\n", "Exit codes:", cli.DefaultConfigPath, cli.DocDir} {
			if !strings.Contains(stdout, want) {
				t.Errorf("%s: stdout lacks %q", arg, want)
			}
		}
	}
	for _, args := range [][]string{{"--bogus"}, {"--gomaxprocs", "0"}, {"--config"}, {"stray"}} {
		stdout, stderr, code := runBinary(t, 10*time.Second, args...)
		if code != exitUsage || stdout != "" {
			t.Errorf("%q: exit %d, stdout %q; want exit %d and no stdout", args, code, stdout, exitUsage)
		}
		if lines := strings.Split(strings.TrimRight(stderr, "\n"), "\n"); len(lines) != 1 || !strings.HasPrefix(lines[0], "elb-access-logger: ") ||
			!strings.HasSuffix(lines[0], "(see elb-access-logger --help)") {
			t.Errorf("%q: stderr %q; want one line naming the error and --help", args, stderr)
		}
	}
}

// The built-in default path is the agent's.
func TestDefaultConfigPath(t *testing.T) {
	if cli.DefaultConfigPath != config.DefaultConfigPath {
		t.Errorf("cli.DefaultConfigPath %q, config.DefaultConfigPath %q", cli.DefaultConfigPath, config.DefaultConfigPath)
	}
}

// --version and elb_access_logger_build_info say the same, from
// prometheus/common/version (a plain go build: "unknown" where nothing is
// stamped, the real Go version and platform).
func TestVersionAndBuildInfo(t *testing.T) {
	stdout, stderr, code := runBinary(t, 10*time.Second, "--version")
	wantVersion := "elb-access-logger, version unknown (branch: unknown, revision: "
	if code != exitOK || stderr != "" || !strings.HasPrefix(stdout, wantVersion) ||
		!strings.Contains(stdout, "\n  go version:       "+runtime.Version()+"\n") ||
		!strings.Contains(stdout, "\n  platform:         "+runtime.GOOS+"/"+runtime.GOARCH+"\n") {
		t.Fatalf("--version: exit %d, stderr %q, stdout:\n%s", code, stderr, stdout)
	}
	revision := strings.TrimSuffix(strings.SplitN(strings.TrimPrefix(stdout, wantVersion), "\n", 2)[0], ")")

	a := startAgent(t, startableProps(t, "127.0.0.1:0"))
	resp, err := http.Get(metricsURL(t, a) + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf(`elb_access_logger_build_info{branch="unknown",goarch=%q,goos=%q,goversion=%q,revision=%q,tags="unknown",version="unknown"} 1`,
		runtime.GOARCH, runtime.GOOS, runtime.Version(), revision)
	if !strings.Contains(string(body), "\n"+want+"\n") {
		t.Errorf("/metrics lacks\n%s\ngot:\n%s", want, grepLines(string(body), "build_info"))
	}
}

func grepLines(text, substr string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, substr) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// The gauges the alerting rules compare against (packaging/prometheus/):
// the spool's bound, the window and the identity, from a running binary.
func TestAlertingGauges(t *testing.T) {
	a := startAgent(t, startableProps(t, "127.0.0.1:0"))
	url := metricsURL(t, a)
	now := float64(time.Now().Unix())
	waitGauge := func(name string, ok func(float64) bool) {
		t.Helper()
		var v float64
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			if v = sample(t, url, name); ok(v) {
				return
			}
		}
		t.Errorf("%s = %v", name, v)
	}
	waitGauge("elb_access_logger_spool_max_bytes", func(v float64) bool { return v == 1<<30 })
	waitGauge("elb_access_logger_window_seconds", func(v float64) bool { return v == 3600 })
	waitGauge("elb_access_logger_window_end_timestamp_seconds", func(v float64) bool { return v > now && v <= now+3600 })
	waitGauge("elb_access_logger_identity_complete", func(v float64) bool { return v == 1 })
}
