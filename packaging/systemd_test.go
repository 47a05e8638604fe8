package packaging_test

import (
	"bufio"
	"bytes"
	"github.com/elb-access-logger/elb-access-logger/agent/config"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/elb-access-logger/elb-access-logger/agent"
)

const unitFile = "elb-access-logger.service"

// unitDirectives returns the [Service] directives of a unit file; a key
// given more than once keeps every value.
func unitDirectives(t *testing.T, path string) map[string][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string][]string{}
	section := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
		case strings.HasPrefix(line, "["):
			section = strings.Trim(line, "[]")
		default:
			k, v, _ := strings.Cut(line, "=")
			out[section+"."+k] = append(out[section+"."+k], v)
		}
	}
	return out
}

// TestSystemdUnitSettings checks the settings the issue and the agent
// depend on.
func TestSystemdUnitSettings(t *testing.T) {
	d := unitDirectives(t, unitFile)
	tests := []struct{ key, want string }{
		{"Unit.Documentation", "man:elb-access-logger(8) file:///usr/share/doc/elb-access-logger/README.md"},
		{"Service.Type", "notify"},
		{"Service.NotifyAccess", "main"},
		{"Service.User", "elb-access-logger"},
		{"Service.Group", "elb-access-logger"},
		{"Service.ExecStart", "/usr/bin/elb-access-logger --config " + config.DefaultConfigPath},
		{"Service.ExecReload", "/bin/kill -HUP $MAINPID"},
		{"Service.KillSignal", "SIGTERM"},
		{"Service.Restart", "on-failure"},
		{"Service.AmbientCapabilities", "CAP_NET_BIND_SERVICE"},
		{"Service.CapabilityBoundingSet", "CAP_NET_BIND_SERVICE"},
		{"Service.NoNewPrivileges", "true"},
		{"Service.ProtectSystem", "strict"},
		{"Service.ReadWritePaths", "/var/spool/elb-access-logger"},
		{"Service.RuntimeDirectory", "elb-access-logger"}, // unix:///run/elb-access-logger/haproxy.sock
		{"Service.RuntimeDirectoryMode", "0755"},
		{"Install.WantedBy", "multi-user.target"},
		// Windows are named by the wall clock (issue 16, item 1).
		{"Unit.After", "network-online.target time-sync.target"},
	}
	for _, tt := range tests {
		if got := strings.Join(d[tt.key], " | "); got != tt.want {
			t.Errorf("%s: got %q, want %q", tt.key, got, tt.want)
		}
	}
	// The spool the unit may write is the agent's default spool.
	if got, want := d["Service.ReadWritePaths"], config.DefaultConfig().SpoolDir; len(got) != 1 || got[0] != want {
		t.Errorf("ReadWritePaths %v: want the default spool.dir %s", got, want)
	}
	// systemd must wait longer than the agent's shutdown upload round.
	stop, err := time.ParseDuration(strings.Join(d["Service.TimeoutStopSec"], "") + "s")
	if err != nil {
		t.Fatalf("TimeoutStopSec %v: %v", d["Service.TimeoutStopSec"], err)
	}
	if stop <= agent.ShutdownTimeout+5*time.Second {
		t.Errorf("TimeoutStopSec: got %v, want well over the agent's %v shutdown round", stop, agent.ShutdownTimeout)
	}
}

// TestSystemdAnalyze runs systemd-analyze verify, and security (offline)
// with an exposure threshold, on the unit as the RPM installs it.
func TestSystemdAnalyze(t *testing.T) {
	sa := requireTool(t, "systemd-analyze", "systemd")
	rpmBin := requireTool(t, "rpm", "rpm")
	root, flags := scratchRoot(t)
	run(t, workDir, rpmBin, append(flags, "-i", "--nodeps", "--noscripts", buildRPM(t, "1.0.0"))...)
	// verify resolves the targets the unit names and the commands it runs
	// inside the root: give the scratch root the host's units and a kill.
	if _, err := os.Stat("/usr/lib/systemd/system/multi-user.target"); err != nil {
		t.Fatalf("systemd units of the host: %v", err)
	}
	run(t, workDir, "cp", "-an", "/usr/lib/systemd/system/.", filepath.Join(root, "usr/lib/systemd/system"))
	kill, err := exec.LookPath("kill")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(root, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	run(t, workDir, "cp", kill, filepath.Join(root, "bin/kill"))

	unit := "/usr/lib/systemd/system/" + unitFile
	// verify also runs man(1) for each man: page of Documentation=; point
	// it at the man pages the RPM installed in the scratch root.
	requireTool(t, "man", "man-db")
	verify := exec.Command(sa, "verify", "--root="+root, unit)
	verify.Dir = workDir
	verify.Env = append(os.Environ(), "MANPATH="+filepath.Join(root, "usr/share/man"))
	var vout, verr bytes.Buffer
	verify.Stdout, verify.Stderr = &vout, &verr
	if err := verify.Run(); err != nil || strings.TrimSpace(verr.String()) != "" {
		t.Errorf("systemd-analyze verify: %v\n%s%s", err, vout.String(), verr.String())
	}
	// Exposure 0 (locked down) to 10 (unsafe); the unit scores about 1.7.
	stdout, stderr, err := runErr(workDir, sa, "security", "--offline=true", "--threshold=30", "--root="+root, unit)
	if err != nil {
		t.Errorf("systemd-analyze security: %v (exposure above 3.0?)\n%s%s", err, stdout, stderr)
	}
	if strings.TrimSpace(stderr) != "" {
		t.Errorf("systemd-analyze security: warnings:\n%s", stderr)
	}
}
