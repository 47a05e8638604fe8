package packaging_test

import (
	"bytes"
	"fmt"
	"github.com/elb-access-logger/elb-access-logger/agent/config"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/elb-access-logger/elb-access-logger/internal/testbed"
)

const initScript = "elb-access-logger.init"

// TestSysVInitScriptSyntax: the script parses as bash and as POSIX sh.
func TestSysVInitScriptSyntax(t *testing.T) {
	for _, sh := range []string{"bash", "sh"} {
		if out, err := exec.Command(sh, "-n", initScript).CombinedOutput(); err != nil {
			t.Errorf("%s -n %s: %v\n%s", sh, initScript, err, out)
		}
	}
}

// sysvEnv is one run of the init script against a temporary tree.
type sysvEnv struct {
	dir, sysconfig, pidfile, logfile, spool string
	port                                    int
}

// newSysVEnv writes a property file that keeps everything in a temporary
// directory and on a loopback high port, and a sysconfig file that points
// the init script at it and at the test's binary.
func newSysVEnv(t *testing.T, daemonUser string) sysvEnv {
	t.Helper()
	dir := t.TempDir()
	e := sysvEnv{
		dir:       dir,
		sysconfig: filepath.Join(dir, "sysconfig"),
		pidfile:   filepath.Join(dir, "run", "elb-access-logger.pid"),
		logfile:   filepath.Join(dir, "agent.log"),
		spool:     filepath.Join(dir, "spool"),
		port:      testbed.FreeUDPPort(t),
	}
	if err := os.Mkdir(e.spool, 0o750); err != nil {
		t.Fatal(err)
	}
	// No metadata service, no real store: the identity is given, and the
	// store is a closed loopback port, so the shutdown upload round fails
	// fast and the segment stays in the spool.
	props := fmt.Sprintf(`syslog.listen = udp://127.0.0.1:%d
spool.dir = %s
metadata.endpoint =
access_log.owner_account = 123456789012
access_log.lb_name = sysv-test
access_log.node_ip = 127.0.0.1
access_log.instance_id = i-0123abcd
access_log.region = us-east-1
objectstorage.endpoint = http://127.0.0.1:1
objectstorage.access_key_id = AKIDSYSVTEST
objectstorage.secret_access_key = not-a-secret
metrics.listen = 127.0.0.1:0
`, e.port, e.spool)
	config := filepath.Join(dir, "access-log.properties")
	if err := os.WriteFile(config, []byte(props), 0o640); err != nil {
		t.Fatal(err)
	}
	sysconfig := fmt.Sprintf("DAEMON=%q\nCONFIG=%q\nDAEMON_USER=%q\nPIDFILE=%q\nLOGFILE=%q\nSTOP_TIMEOUT=30\n",
		binary(t), config, daemonUser, e.pidfile, e.logfile)
	if err := os.WriteFile(e.sysconfig, []byte(sysconfig), 0o644); err != nil {
		t.Fatal(err)
	}
	// Whatever happens, the agent this test started does not outlive it.
	t.Cleanup(func() {
		if data, err := os.ReadFile(e.pidfile); err == nil {
			if pid, err := strconv.Atoi(strings.TrimSpace(string(data))); err == nil && pid > 1 {
				syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	})
	return e
}

// service runs the init script with action and returns its output and
// exit code.
func (e sysvEnv) service(t *testing.T, action string) (string, int) {
	t.Helper()
	script, err := filepath.Abs(initScript)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("/bin/sh", script, action)
	cmd.Env = append(os.Environ(), "ELB_ACCESS_LOGGER_SYSCONFIG="+e.sysconfig)
	// The daemon keeps the log file, not our pipes: Output returns when
	// the script exits.
	out, err := cmd.CombinedOutput()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("init script %s: %v", action, err)
	}
	return string(out), code
}

func (e sysvEnv) pid(t *testing.T) int {
	t.Helper()
	data, err := os.ReadFile(e.pidfile)
	if err != nil {
		t.Fatalf("pid file: %v", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil {
		t.Fatalf("pid file %q: %v", data, err)
	}
	return pid
}

func alive(pid int) bool { return syscall.Kill(pid, 0) == nil }

// spooled reports whether some file in the spool holds line.
func (e sysvEnv) spooled(line string) bool {
	found := false
	filepath.WalkDir(e.spool, func(path string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if data, err := os.ReadFile(path); err == nil && bytes.Contains(data, []byte(line)) {
				found = true
			}
		}
		return nil
	})
	return found
}

// TestSysVInitScript starts the real agent with the init script, asks its
// status, reloads it (SIGHUP), sends it a log line and stops it: the line
// is sealed in the spool and the pid file is gone. As root it also runs
// the agent as an unprivileged user through runuser, as on EL6.
func TestSysVInitScript(t *testing.T) {
	tests := []struct{ name, user string }{
		{"as the caller", ""},
		{"as an unprivileged user", "nobody"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newSysVEnv(t, tt.user)
			if tt.user != "" {
				prepareForUser(t, e, tt.user)
			}

			if out, code := e.service(t, "status"); code != 3 {
				t.Errorf("status before start: got exit %d (%q), want 3 (stopped)", code, out)
			}
			out, code := e.service(t, "start")
			if code != 0 {
				log, _ := os.ReadFile(e.logfile)
				t.Fatalf("start: exit %d\n%s\nagent log:\n%s", code, out, log)
			}
			pid := e.pid(t)
			if !alive(pid) {
				t.Fatalf("start: pid %d from the pid file is not running", pid)
			}
			if tt.user != "" {
				if got := processUser(t, pid); got != tt.user {
					t.Errorf("agent runs as %q, want %q", got, tt.user)
				}
			}
			if out, code := e.service(t, "start"); code != 0 || !strings.Contains(out, "already running") || e.pid(t) != pid {
				t.Errorf("second start: got exit %d %q, want 0 and already running with pid %d", code, out, pid)
			}
			if out, code := e.service(t, "status"); code != 0 || !strings.Contains(out, strconv.Itoa(pid)) {
				t.Errorf("status: got exit %d %q, want 0 naming pid %d", code, out, pid)
			}

			if out, code := e.service(t, "reload"); code != 0 {
				t.Errorf("reload: got exit %d %q, want 0", code, out)
			}
			time.Sleep(300 * time.Millisecond) // a SIGHUP that kills would have done so
			if !alive(pid) {
				t.Fatalf("reload: the agent (pid %d) died on SIGHUP", pid)
			}
			if out, code := e.service(t, "status"); code != 0 {
				t.Errorf("status after reload: got exit %d %q, want 0", code, out)
			}

			// The agent really receives: a line sent now is in the spool
			// once it stops.
			line := fmt.Sprintf("sysv-test-line-%d", time.Now().UnixNano())
			c, err := net.Dial("udp", fmt.Sprintf("127.0.0.1:%d", e.port))
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(c, "<158>Nov 25 06:12:36 haproxy[1]: %s\n", line)
			c.Close()
			time.Sleep(200 * time.Millisecond)

			if out, code := e.service(t, "stop"); code != 0 {
				t.Errorf("stop: got exit %d %q, want 0", code, out)
			}
			if alive(pid) {
				t.Errorf("stop: pid %d still running", pid)
			}
			if _, err := os.Stat(e.pidfile); !os.IsNotExist(err) {
				t.Errorf("stop: pid file: got %v, want it removed", err)
			}
			if !e.spooled(line) {
				log, _ := os.ReadFile(e.logfile)
				t.Errorf("after stop: line %q not in the spool %s\nagent log:\n%s", line, e.spool, log)
			}
			if out, code := e.service(t, "status"); code != 3 {
				t.Errorf("status after stop: got exit %d %q, want 3", code, out)
			}
			if out, code := e.service(t, "stop"); code != 0 {
				t.Errorf("stop when stopped: got exit %d %q, want 0", code, out)
			}
		})
	}
}

// TestSysVInitScriptFailures: a stale pid file, reload of a stopped agent
// and a bad configuration get the LSB exit codes and start nothing.
func TestSysVInitScriptFailures(t *testing.T) {
	e := newSysVEnv(t, "")
	if err := os.MkdirAll(filepath.Dir(e.pidfile), 0o755); err != nil {
		t.Fatal(err)
	}
	// A pid that is not the agent: this test's own.
	if err := os.WriteFile(e.pidfile, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, code := e.service(t, "status"); code != 1 {
		t.Errorf("status with a stale pid file: got exit %d %q, want 1", code, out)
	}
	if out, code := e.service(t, "reload"); code != 7 {
		t.Errorf("reload when not running: got exit %d %q, want 7", code, out)
	}
	os.Remove(e.pidfile)

	config := filepath.Join(e.dir, "access-log.properties")
	f, err := os.OpenFile(config, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintln(f, "access_log.emit_interval = 7")
	f.Close()
	out, code := e.service(t, "start")
	if code != 6 || !strings.Contains(out, "access_log.emit_interval") {
		t.Errorf("start with a bad config: got exit %d %q, want 6 naming the key", code, out)
	}
	if _, err := os.Stat(e.pidfile); !os.IsNotExist(err) {
		t.Errorf("start with a bad config: pid file %v, want none", err)
	}
	if out, code := e.service(t, "bogus"); code != 2 || !strings.Contains(out, "usage") {
		t.Errorf("unknown action: got exit %d %q, want 2 and usage", code, out)
	}
}

// prepareForUser lets user reach the test's files: the binary, the
// property file (through its group, as the RPM does) and the spool.
func prepareForUser(t *testing.T, e sysvEnv, name string) {
	t.Helper()
	if os.Geteuid() != 0 {
		testbed.Skip(t, "running the agent as another user through runuser needs root")
	}
	if _, err := exec.LookPath("runuser"); err != nil {
		testbed.Skip(t, "runuser not found (util-linux)")
	}
	u, err := user.Lookup(name)
	if err != nil {
		testbed.Skip(t, "user "+name+": "+err.Error())
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	// Every directory from the filesystem root down to the test's tree
	// and the binary must be searchable.
	for _, p := range []string{filepath.Dir(e.dir), e.dir, workDir, filepath.Dir(binary(t))} {
		if err := os.Chmod(p, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chown(filepath.Join(e.dir, "access-log.properties"), 0, gid); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(e.spool, uid, gid); err != nil {
		t.Fatal(err)
	}
}

// processUser names the owner of a running process.
func processUser(t *testing.T, pid int) string {
	t.Helper()
	fi, err := os.Stat(fmt.Sprintf("/proc/%d", pid))
	if err != nil {
		t.Fatal(err)
	}
	u, err := user.LookupId(strconv.Itoa(int(fi.Sys().(*syscall.Stat_t).Uid)))
	if err != nil {
		t.Fatal(err)
	}
	return u.Username
}

// TestSysVInitScriptDefaults: the script's defaults are where the RPM
// puts things and what the agent and the unit use.
func TestSysVInitScriptDefaults(t *testing.T) {
	data, err := os.ReadFile(initScript)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, line := range strings.Split(string(data), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok && k != "" && strings.ToUpper(k) == k && !strings.ContainsAny(k, " \t$") {
			got[k] = v
		}
	}
	unit := unitDirectives(t, unitFile)
	tests := []struct{ key, want string }{
		{"DAEMON", "/usr/bin/elb-access-logger"},
		{"CONFIG", config.DefaultConfigPath},
		{"DAEMON_USER", unit["Service.User"][0]},
		{"STOP_TIMEOUT", unit["Service.TimeoutStopSec"][0]},
	}
	for _, tt := range tests {
		if got[tt.key] != tt.want {
			t.Errorf("%s: %s: got %q, want %q", initScript, tt.key, got[tt.key], tt.want)
		}
	}
}

// TestSysVInitScriptStartWaitsForReady: start reports success only once the
// agent wrote its pid file (it is ready: listener bound, spool open), and an
// agent that cannot bind fails the start at once, leaving no pid file.
func TestSysVInitScriptStartWaitsForReady(t *testing.T) {
	e := newSysVEnv(t, "")
	busy, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: e.port})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	out, code := e.service(t, "start")
	busy.Close()
	if code != 1 || !strings.Contains(out, "exited at start") {
		t.Errorf("start with the port taken: exit %d %q, want 1 and that the agent exited", code, out)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("start with the port taken took %v: want it to notice the exit, not wait for START_TIMEOUT", d)
	}
	if _, err := os.Stat(e.pidfile); !os.IsNotExist(err) {
		t.Errorf("start with the port taken: pid file %v, want none", err)
	}

	out, code = e.service(t, "start")
	if code != 0 {
		log, _ := os.ReadFile(e.logfile)
		t.Fatalf("start: exit %d %q\nagent log:\n%s", code, out, log)
	}
	// Ready means bound: the port is taken the moment start returns.
	if l, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: e.port}); err == nil {
		l.Close()
		t.Errorf("start returned before udp/%d was bound", e.port)
	}
	if out, code := e.service(t, "stop"); code != 0 {
		t.Errorf("stop: exit %d %q", code, out)
	}
}
