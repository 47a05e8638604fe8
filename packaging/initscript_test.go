package packaging_test

import (
	"crypto/sha256"
	"encoding/pem"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
)

// The init script of `make init-script` (packaging/elb-access-logger-init.sh.in)
// is run against scratch roots: a servo-style HAProxy template and an empty
// rpm database made by Debian's `rpm --root R --initdb`. What it cannot
// reach here: the image's own yum (rpm is used under a root) and starting
// the service under the image's init (nothing is started under a root).

// servoTemplate is laid out like the servo's scripts/haproxy_template.conf:
// a global and a defaults section and no log line. The servo's own file
// uses contimeout/clitimeout/srvtimeout, which HAProxy 2.1 and later
// refuse; the timeout keywords here are what this HAProxy takes.
const servoTemplate = `#template
global
 maxconn 100000
 ulimit-n 655360
 pidfile /var/run/haproxy.pid

defaults
 timeout connect 1000
 timeout client 10000
 timeout server 10000
 option http-server-close # affects KA on/off
`

// servoFrontend is what the servo appends for a listener: its own log
// line to its unix socket, the User-Agent capture and its log-format.
const servoFrontend = `
frontend http-80
 mode http
 option forwardfor except 127.0.0.1
 bind 127.0.0.1:%d
 log %s local2 info
 capture request header User-Agent len 8192
 log-format httplog\ %%Ts\ %%ci\ %%cp\ %%fi\ %%fp\ %%Tq\ %%Tw\ %%Tc\ %%Tr\ %%Tt\ %%ST\ %%U\ %%B\ %%f\ %%b\ %%s\ %%ts\ %%r\ %%hrl
 default_backend backend-http-80

backend backend-http-80
 mode http
 server s1 127.0.0.1:%d
`

const (
	templatePath = "etc/load-balancer-servo/haproxy_template.conf"
	initLogPath  = "var/log/elb-access-logger-init.log"
	agentLogLine = "log 127.0.0.1:514 len 65535 local3 info"
)

// initScriptOpts are the make variables of one `make init-script`.
type initScriptOpts struct {
	rpm, url, properties, caBundle string
}

// makeInitScript runs `make init-script` and returns the script.
func makeInitScript(t *testing.T, o initScriptOpts) string {
	t.Helper()
	dist := t.TempDir()
	args := []string{"-s", "init-script", "DIST=" + dist, "RPM_FILE=" + o.rpm, "RPM_URL=" + o.url}
	if o.properties != "" {
		args = append(args, "PROPERTIES="+o.properties)
	}
	if o.caBundle != "" {
		args = append(args, "CA_BUNDLE="+o.caBundle)
	}
	run(t, repoRoot(t), "make", args...)
	return filepath.Join(dist, "elb-access-logger-init.sh")
}

// initRoot makes a scratch root: the directories of an EL image the
// package puts files in, the servo template and an empty rpm database in
// rpm's default place.
func initRoot(t *testing.T, rpmBin string) string {
	t.Helper()
	root := t.TempDir()
	for _, d := range []string{"etc/load-balancer-servo", "var/log", "var/spool", "usr/bin", "usr/share", "usr/share/doc", "usr/share/man/man8",
		"usr/lib/systemd/system", "etc/systemd/system", "etc/rc.d/init.d", "etc/logrotate.d"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(root, templatePath), []byte(servoTemplate), 0o644); err != nil {
		t.Fatal(err)
	}
	run(t, workDir, rpmBin, "--root", root, "--initdb")
	return root
}

// runInit runs the script against root and returns its log file; the
// script must exit 0 whatever happens.
func runInit(t *testing.T, script, root string, env ...string) string {
	t.Helper()
	cmd := exec.Command("/bin/bash", script)
	cmd.Env = append(os.Environ(), "ELB_LOGGER_ROOT="+root, "ELB_LOGGER_RPM_FLAGS=--nodeps", "ELB_LOGGER_FETCH_RETRIES=0")
	cmd.Env = append(cmd.Env, env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v (want exit 0 whatever happens)\n%s", script, err, out)
	}
	log, _ := os.ReadFile(filepath.Join(root, initLogPath))
	// Console and log file carry the same lines.
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if strings.Contains(line, "elb-access-logger-init: ") && !strings.Contains(string(log), line) {
			t.Errorf("console line %q not in /%s", line, initLogPath)
		}
	}
	return string(log)
}

// treeHash describes every file under root: path, mode, owner, content,
// link target and time, except the script's own log. In rpm's database
// only the content counts, and SQLite's shared-memory index (rewritten by
// every reader) not at all.
func treeHash(t *testing.T, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		if rel == initLogPath || strings.HasSuffix(rel, ".sqlite-shm") {
			return nil
		}
		fi, err := os.Lstat(path)
		if err != nil {
			return err
		}
		st := fi.Sys().(*syscall.Stat_t)
		desc := fmt.Sprintf("%v %d:%d", fi.Mode(), st.Uid, st.Gid)
		if !strings.Contains(rel, ".rpmdb") && !d.IsDir() {
			desc += " " + fi.ModTime().String()
		}
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			target, _ := os.Readlink(path)
			desc += " -> " + target
		case fi.Mode().IsRegular():
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			desc += fmt.Sprintf(" %x", sha256.Sum256(data))
		}
		out[rel] = desc
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// sameTree reports every difference between two tree hashes.
func sameTree(t *testing.T, what string, before, after map[string]string) {
	t.Helper()
	var diffs []string
	for p, b := range before {
		if a, ok := after[p]; !ok {
			diffs = append(diffs, "removed /"+p)
		} else if a != b {
			diffs = append(diffs, fmt.Sprintf("changed /%s: %s -> %s", p, b, a))
		}
	}
	for p := range after {
		if _, ok := before[p]; !ok {
			diffs = append(diffs, "added /"+p)
		}
	}
	sort.Strings(diffs)
	if len(diffs) > 0 {
		t.Errorf("%s: want the root untouched, got\n%s", what, strings.Join(diffs, "\n"))
	}
}

func wantLog(t *testing.T, log string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(log, w) {
			t.Errorf("log: no %q in\n%s", w, log)
		}
	}
}

// TestInitScriptInstalls: on a scratch root the script installs the
// package, writes the property file baked in, enables the unit and makes
// the servo template send to the agent, which HAProxy accepts once the
// servo adds its frontend; a second run changes nothing; an edited
// property file is kept by a later script.
func TestInitScriptInstalls(t *testing.T) {
	rpmBin := requireTool(t, "rpm", "rpm")
	requireTool(t, "systemctl", "systemd")
	pkg := buildRPM(t, "1.0.0")
	props := filepath.Join(t.TempDir(), "lb.properties")
	if err := os.WriteFile(props, []byte("# this cloud\naccess_log.emit_interval = 5\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	script := makeInitScript(t, initScriptOpts{rpm: pkg, url: "file://" + pkg, properties: props})
	root := initRoot(t, rpmBin)

	log := runInit(t, script, root)
	wantLog(t, log, "SHA-256 ", "as expected", "elb-access-logger-1.0.0-1.x86_64: installed",
		"access-log.properties: written (the package's default before)",
		"elb-access-logger.service: enabled", "haproxy_template.conf: now sends to the agent", "done:")
	if got := run(t, workDir, rpmBin, "--root", root, "-q", "elb-access-logger"); got != "elb-access-logger-1.0.0-1.x86_64\n" {
		t.Errorf("rpm -q: got %q", got)
	}
	for _, p := range []string{"usr/bin/elb-access-logger", "usr/lib/systemd/system/elb-access-logger.service"} {
		if _, err := os.Stat(filepath.Join(root, p)); err != nil {
			t.Errorf("/%s: %v", p, err)
		}
	}
	wants := filepath.Join(root, "etc/systemd/system/multi-user.target.wants/elb-access-logger.service")
	if target, err := os.Readlink(wants); err != nil || target != "/usr/lib/systemd/system/elb-access-logger.service" {
		t.Errorf("unit enabled: got %q (%v), want the multi-user.target.wants link", target, err)
	}
	propsPath := filepath.Join(root, "etc/elb-access-logger/access-log.properties")
	got, err := os.ReadFile(propsPath)
	if err != nil {
		t.Fatal(err)
	}
	first, rest, _ := strings.Cut(string(got), "\n")
	if !strings.HasPrefix(first, "# Written by elb-access-logger-init.sh (sha256 ") || rest != "# this cloud\naccess_log.emit_interval = 5\n" {
		t.Errorf("property file: got\n%s\nwant the marker line and the baked-in file", got)
	}
	if fi, err := os.Stat(propsPath); err != nil || fi.Mode().Perm() != 0o640 {
		t.Errorf("property file mode: got %v (%v), want 0640", fi.Mode(), err)
	}
	run(t, workDir, filepath.Join(root, "usr/bin/elb-access-logger"), "--check-config", "--config", propsPath)

	checkTemplate(t, root)

	// A second run: nothing changes.
	before := treeHash(t, root)
	log = runInit(t, script, root)
	sameTree(t, "second run", before, treeHash(t, root))
	wantLog(t, log, "1.0.0-1.x86_64: already installed", "as baked in, unchanged", "already enabled", "already sends to the agent, unchanged")

	// The operator edits the property file (marker kept): a script with
	// other baked-in keys leaves it alone.
	edited := string(got) + "access_log.lifecycle_days = 7\n"
	if err := os.WriteFile(propsPath, []byte(edited), 0o640); err != nil {
		t.Fatal(err)
	}
	props2 := filepath.Join(t.TempDir(), "lb2.properties")
	if err := os.WriteFile(props2, []byte("access_log.emit_interval = 60\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	script2 := makeInitScript(t, initScriptOpts{rpm: pkg, url: "file://" + pkg, properties: props2})
	before = treeHash(t, root)
	log = runInit(t, script2, root)
	sameTree(t, "run over an edited property file", before, treeHash(t, root))
	wantLog(t, log, "edited by hand, kept")

	// Unedited again, as the first script wrote it: the new script
	// replaces it, since an earlier run wrote it.
	if err := os.WriteFile(propsPath, got, 0o640); err != nil {
		t.Fatal(err)
	}
	log = runInit(t, script2, root)
	wantLog(t, log, "written (written by an earlier run before)")
	if data, _ := os.ReadFile(propsPath); !strings.HasPrefix(string(data), "# Written by elb-access-logger-init.sh (sha256 ") ||
		!strings.HasSuffix(string(data), "\naccess_log.emit_interval = 60\n") {
		t.Errorf("property file after the second script: got\n%s", data)
	}

	// Deleted by the operator: written again.
	if err := os.Remove(propsPath); err != nil {
		t.Fatal(err)
	}
	log = runInit(t, script2, root)
	wantLog(t, log, "written (absent before)")
	if fi, err := os.Stat(propsPath); err != nil || fi.Mode().Perm() != 0o640 {
		t.Errorf("property file written again: %v (%v), want mode 0640", fi, err)
	}
}

// checkTemplate: the edited template is the servo's with the agent's log
// line first in global and `log global` first in defaults, and HAProxy
// accepts it with a servo frontend (its own log line) appended.
func checkTemplate(t *testing.T, root string) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, templatePath))
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Replace(servoTemplate, "global\n", "global\n "+agentLogLine+"\n", 1)
	want = strings.Replace(want, "defaults\n", "defaults\n log global\n", 1)
	if string(data) != want {
		t.Errorf("template: got\n%s\nwant\n%s", data, want)
	}
	haproxy := os.Getenv("TESTBED_HAPROXY")
	if haproxy == "" {
		haproxy = requireTool(t, "haproxy", "haproxy")
	}
	cfg := filepath.Join(t.TempDir(), "haproxy.cfg")
	rendered := string(data) + fmt.Sprintf(servoFrontend, 8080, "/var/lib/load-balancer-servo/haproxy.sock", 8000)
	if err := os.WriteFile(cfg, []byte(rendered), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(haproxy, "-c", "-f", cfg).CombinedOutput(); err != nil {
		t.Errorf("haproxy -c -f on the rendered template: %v\n%s\n%s", err, out, rendered)
	}
}

// TestInitScriptFailsSafe: whatever goes wrong before the template is
// edited, the root is left as it was, the script exits 0 and logs why.
func TestInitScriptFailsSafe(t *testing.T) {
	rpmBin := requireTool(t, "rpm", "rpm")
	pkg := buildRPM(t, "1.0.0")
	data, err := os.ReadFile(pkg)
	if err != nil {
		t.Fatal(err)
	}
	// A closed port: bound, then released.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + l.Addr().String() + "/elb-access-logger.rpm"
	l.Close()
	corrupt := filepath.Join(t.TempDir(), "corrupt.rpm")
	bad := append([]byte(nil), data...)
	bad[len(bad)/2] ^= 0xff
	if err := os.WriteFile(corrupt, bad, 0o644); err != nil {
		t.Fatal(err)
	}
	badProps := filepath.Join(t.TempDir(), "bad.properties")
	if err := os.WriteFile(badProps, []byte("access_log.emit_interval = 7\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	oldKernel := t.TempDir()
	if err := os.WriteFile(filepath.Join(oldKernel, "uname"), []byte("#!/bin/sh\necho 2.6.32-754.el6.x86_64\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		opts       initScriptOpts
		env        []string
		noTemplate bool
		want       string
	}{
		{"wrong checksum", initScriptOpts{url: "file://" + corrupt}, nil, false, "checksum mismatch: file://" + corrupt + " has SHA-256"},
		{"missing file", initScriptOpts{url: "file:///nonexistent/elb-access-logger.rpm"}, nil, false, "fetch file:///nonexistent/elb-access-logger.rpm: "},
		{"unreachable URL", initScriptOpts{url: closed}, nil, false, "fetch " + closed + ": "},
		{"no servo template", initScriptOpts{}, nil, true, "no HAProxy template at "},
		{"kernel older than 3.2", initScriptOpts{}, []string{"PATH=" + oldKernel + ":" + os.Getenv("PATH")}, false,
			"kernel 2.6.32-754.el6.x86_64 is older than 3.2: elb-access-logger needs Linux 3.2 or later (EL7 and later)"},
		// Installed, then refused by --check-config: the package is erased.
		{"bad property file", initScriptOpts{properties: badProps}, nil, false, "undone: erased elb-access-logger"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := tt.opts
			o.rpm = pkg
			if o.url == "" {
				o.url = "file://" + pkg
			}
			script := makeInitScript(t, o)
			root := initRoot(t, rpmBin)
			if tt.noTemplate {
				os.Remove(filepath.Join(root, templatePath))
			}
			before := treeHash(t, root)
			if tt.name == "bad property file" {
				// rpm -e leaves its database changed; the rest must be as before.
				defer func() {
					if out, _, err := runErr(workDir, rpmBin, "--root", root, "-q", "elb-access-logger"); err == nil {
						t.Errorf("rpm -q after the undo: got %q, want the package erased", out)
					}
				}()
				for p := range before {
					if strings.Contains(p, ".rpmdb") {
						delete(before, p)
					}
				}
			}
			log := runInit(t, script, root, tt.env...)
			after := treeHash(t, root)
			if tt.name == "bad property file" {
				for p := range after {
					if strings.Contains(p, ".rpmdb") {
						delete(after, p)
					}
				}
			}
			sameTree(t, tt.name, before, after)
			wantLog(t, log, tt.want, "gave up: the load balancer starts without access logs")
		})
	}
}

// TestInitScriptFetchesHTTP: the RPM comes over http (curl), as from the
// cloud's object store.
func TestInitScriptFetchesHTTP(t *testing.T) {
	rpmBin := requireTool(t, "rpm", "rpm")
	requireTool(t, "curl", "curl")
	pkg := buildRPM(t, "1.0.0")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/bucket/elb-access-logger.rpm" {
			http.NotFound(w, r)
			return
		}
		http.ServeFile(w, r, pkg)
	}))
	defer srv.Close()
	root := initRoot(t, rpmBin)

	// A wrong key first: 404 is a fetch failure, nothing changes.
	before := treeHash(t, root)
	log := runInit(t, makeInitScript(t, initScriptOpts{rpm: pkg, url: srv.URL + "/bucket/other.rpm"}), root)
	sameTree(t, "404", before, treeHash(t, root))
	wantLog(t, log, "fetch "+srv.URL+"/bucket/other.rpm: ", "404")

	log = runInit(t, makeInitScript(t, initScriptOpts{rpm: pkg, url: srv.URL + "/bucket/elb-access-logger.rpm"}), root)
	wantLog(t, log, "as expected", "1.0.0-1.x86_64: installed", "no property file baked in, the package's file is used", "done:")
}

// TestInitScriptInlined: Eucalyptus pastes the property's text into the
// VM's user-data script, before the lines that install and start the
// servo. Whether the script gives up or succeeds, those lines still run,
// with nothing of the script's shell settings (set -u, traps) leaking.
func TestInitScriptInlined(t *testing.T) {
	rpmBin := requireTool(t, "rpm", "rpm")
	pkg := buildRPM(t, "1.0.0")
	for _, tt := range []struct{ name, url string }{
		{"gives up", "file:///nonexistent/elb-access-logger.rpm"},
		{"installs", "file://" + pkg},
	} {
		t.Run(tt.name, func(t *testing.T) {
			script, err := os.ReadFile(makeInitScript(t, initScriptOpts{rpm: pkg, url: tt.url}))
			if err != nil {
				t.Fatal(err)
			}
			// What the servo's user-data looks like around the property.
			userData := "#!/bin/bash\n" + string(script) +
				"\n#System generated Load Balancer Servo config\necho \"servo started ${UNSET_BY_ANYONE}\"\n"
			path := filepath.Join(t.TempDir(), "user-data")
			if err := os.WriteFile(path, []byte(userData), 0o700); err != nil {
				t.Fatal(err)
			}
			root := initRoot(t, rpmBin)
			cmd := exec.Command("/bin/bash", path)
			cmd.Env = append(os.Environ(), "ELB_LOGGER_ROOT="+root, "ELB_LOGGER_RPM_FLAGS=--nodeps", "ELB_LOGGER_FETCH_RETRIES=0")
			out, err := cmd.CombinedOutput()
			if err != nil || !strings.Contains(string(out), "servo started \n") {
				t.Errorf("user-data: %v, want exit 0 and the servo's lines run\n%s", err, out)
			}
		})
	}
}

// TestInitScriptFetchesHTTPS: over https the object store's certificate
// must be trusted; CA_BUNDLE bakes the cloud's CA into the script.
func TestInitScriptFetchesHTTPS(t *testing.T) {
	rpmBin := requireTool(t, "rpm", "rpm")
	requireTool(t, "curl", "curl")
	pkg := buildRPM(t, "1.0.0")
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.ServeFile(w, r, pkg)
	}))
	defer srv.Close()
	url := srv.URL + "/bucket/elb-access-logger.rpm"
	root := initRoot(t, rpmBin)

	// Without the CA: curl refuses the certificate, nothing changes.
	before := treeHash(t, root)
	log := runInit(t, makeInitScript(t, initScriptOpts{rpm: pkg, url: url}), root)
	sameTree(t, "unknown CA", before, treeHash(t, root))
	wantLog(t, log, "fetch "+url+": ", "certificate", "gave up")

	ca := filepath.Join(t.TempDir(), "cloud-ca.pem")
	block := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	if err := os.WriteFile(ca, block, 0o644); err != nil {
		t.Fatal(err)
	}
	log = runInit(t, makeInitScript(t, initScriptOpts{rpm: pkg, url: url, caBundle: ca}), root)
	wantLog(t, log, "as expected", "1.0.0-1.x86_64: installed", "done:")
}
