package packaging_test

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestInitScriptHAProxyDelivers runs HAProxy with the template the init
// script edited plus a servo frontend (its own `log` to the servo's unix
// socket): a request's line reaches both the agent's address (a free port
// here in place of 514) and the servo's socket. This is what makes the
// two added lines enough on a servo image.
func TestInitScriptHAProxyDelivers(t *testing.T) {
	rpmBin := requireTool(t, "rpm", "rpm")
	haproxy := os.Getenv("TESTBED_HAPROXY")
	if haproxy == "" {
		haproxy = requireTool(t, "haproxy", "haproxy")
	}
	pkg := buildRPM(t, "1.0.0")
	root := initRoot(t, rpmBin)
	runInit(t, makeInitScript(t, initScriptOpts{rpm: pkg, url: "file://" + pkg}), root)
	tmpl, err := os.ReadFile(filepath.Join(root, templatePath))
	if err != nil {
		t.Fatal(err)
	}

	agent, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer agent.Close()
	dir := t.TempDir()
	sock := filepath.Join(dir, "haproxy.sock")
	servo, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer servo.Close()
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer backend.Close()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	front := l.Addr().(*net.TCPAddr).Port
	l.Close()
	backendPort, _ := strconv.Atoi(backend.URL[strings.LastIndex(backend.URL, ":")+1:])

	cfg := string(tmpl)
	for _, r := range [][2]string{
		{"127.0.0.1:514", agent.LocalAddr().String()},
		{"pidfile /var/run/haproxy.pid", "pidfile " + filepath.Join(dir, "haproxy.pid")},
		// The servo's limits need more file descriptors than a test gets.
		{"ulimit-n 655360\n", ""},
		{"maxconn 100000", "maxconn 100"},
	} {
		if !strings.Contains(cfg, r[0]) {
			t.Fatalf("edited template: no %q in\n%s", r[0], cfg)
		}
		cfg = strings.Replace(cfg, r[0], r[1], 1)
	}
	cfg += fmt.Sprintf(servoFrontend, front, sock, backendPort)
	cfgPath := filepath.Join(dir, "haproxy.cfg")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(haproxy, "-db", "-f", cfgPath)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cmd.Process.Kill()
		cmd.Wait()
	}()

	const path = "/init-script-check"
	url := fmt.Sprintf("http://127.0.0.1:%d%s", front, path)
	if !waitFor(10*time.Second, func() bool {
		resp, err := http.Get(url)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return true
	}) {
		t.Fatalf("HAProxy never answered on %s\n%s\n%s", url, out.String(), cfg)
	}
	for name, c := range map[string]net.PacketConn{"agent (global log line)": agent, "servo socket (frontend log line)": servo} {
		if got := readUntil(c, path, 5*time.Second); !strings.Contains(got, "httplog") {
			t.Errorf("%s: got %q, want the request's httplog line", name, got)
		}
	}
}

// readUntil returns the first datagram containing want, or the last one
// read when the time runs out.
func readUntil(c net.PacketConn, want string, d time.Duration) string {
	buf := make([]byte, 65536)
	last := ""
	c.SetReadDeadline(time.Now().Add(d))
	for {
		n, _, err := c.ReadFrom(buf)
		if err != nil {
			return last
		}
		last = string(buf[:n])
		if strings.Contains(last, want) {
			return last
		}
	}
}

// TestInitScriptTemplates: the template edit on shapes other than the
// servo's: each line is added only where missing, indented like its
// section, and a file without a defaults section is left alone.
func TestInitScriptTemplates(t *testing.T) {
	rpmBin := requireTool(t, "rpm", "rpm")
	pkg := buildRPM(t, "1.0.0")
	script := makeInitScript(t, initScriptOpts{rpm: pkg, url: "file://" + pkg})
	tests := []struct {
		name, in, want, log string
	}{
		{"already edited",
			"global\n " + agentLogLine + "\ndefaults\n log global\n",
			"global\n " + agentLogLine + "\ndefaults\n log global\n",
			"already sends to the agent, unchanged"},
		// Amazon Linux's haproxy.cfg logs to 127.0.0.1 (port 514): the
		// agent already gets the lines; nothing is added twice.
		{"logs to 127.0.0.1 already",
			"global\n    log         127.0.0.1 local2\n\ndefaults\n    mode http\n    log global\n",
			"global\n    log         127.0.0.1 local2\n\ndefaults\n    mode http\n    log global\n",
			"already sends to the agent, unchanged"},
		{"another global log target, two defaults, indented by four",
			"global # main\n    log /dev/log local0\n    maxconn 10\ndefaults\n    mode http\nlisten stats\n    bind :8404\ndefaults tcp\n\tmode tcp\n",
			"global # main\n    " + agentLogLine + "\n    log /dev/log local0\n    maxconn 10\ndefaults\n    log global\n    mode http\nlisten stats\n    bind :8404\ndefaults tcp\n\tlog global\n\tmode tcp\n",
			"now sends to the agent"},
		{"commented-out lines do not count",
			"global\n #log 127.0.0.1:514 local3\ndefaults\n # log global\n",
			// No line but comments: four spaces.
			"global\n    " + agentLogLine + "\n #log 127.0.0.1:514 local3\ndefaults\n    log global\n # log global\n",
			"now sends to the agent"},
		{"no defaults section",
			"global\n maxconn 10\n",
			"global\n maxconn 10\n",
			"has no global or no defaults section: not a servo template"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := initRoot(t, rpmBin)
			path := filepath.Join(root, templatePath)
			if err := os.WriteFile(path, []byte(tt.in), 0o640); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(path, 0o640); err != nil {
				t.Fatal(err)
			}
			log := runInit(t, script, root)
			got, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("template: got\n%s\nwant\n%s", got, tt.want)
			}
			if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o640 {
				t.Errorf("template mode: got %v (%v), want 0640 kept", fi.Mode(), err)
			}
			wantLog(t, log, tt.log)
		})
	}
}
