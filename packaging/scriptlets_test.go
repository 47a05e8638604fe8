package packaging_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// stubTools writes fake system tools into a directory that becomes the
// scriptlets' whole PATH: each logs its command line; getent answers from
// a state file that groupadd and useradd append to; with fail set, every
// tool but getent exits 1.
func stubTools(t *testing.T, systemd, userExists, fail bool) (dir, log string) {
	t.Helper()
	dir = t.TempDir()
	log = filepath.Join(dir, "calls.log")
	state := filepath.Join(dir, "state")
	initial := ""
	if userExists {
		initial = "group elb-access-logger\npasswd elb-access-logger\n"
	}
	if err := os.WriteFile(state, []byte(initial), 0o644); err != nil {
		t.Fatal(err)
	}
	exit := "0"
	if fail {
		exit = "1"
	}
	logger := "#!/bin/sh\necho \"${0##*/} $*\" >>'" + log + "'\n"
	stubs := map[string]string{
		"getent":    "#!/bin/sh\n/usr/bin/grep -qx \"$1 $2\" '" + state + "'\n",
		"groupadd":  logger + "echo \"group ${*##* }\" >>'" + state + "'\nexit " + exit + "\n",
		"useradd":   logger + "echo \"passwd ${*##* }\" >>'" + state + "'\nexit " + exit + "\n",
		"service":   logger + "exit " + exit + "\n",
		"chkconfig": logger + "exit " + exit + "\n",
		"setcap":    logger + "exit " + exit + "\n",
		"chown":     logger + "exit " + exit + "\n",
		"chmod":     logger + "exit " + exit + "\n",
		"usermod":   logger + "exit " + exit + "\n",
	}
	if systemd {
		stubs["systemctl"] = logger + "exit " + exit + "\n"
	}
	for name, body := range stubs {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir, log
}

// TestScriptlets runs each RPM scriptlet with fake tools, as rpm would
// ($1 as rpm passes it), and checks what it did: the user is created once,
// the service is restarted only on upgrade and stopped only on erase, and
// no scriptlet fails the transaction.
func TestScriptlets(t *testing.T) {
	const (
		groupadd = "groupadd -r elb-access-logger"
		useradd  = "useradd -r -g elb-access-logger -d /var/spool/elb-access-logger -s /sbin/nologin -c elb-access-logger agent elb-access-logger"
		reload   = "systemctl daemon-reload"
	)
	// SysV's capability only on a binary nobody else may run; if the
	// chown fails (tools fail), nothing after it runs.
	sysvCap := []string{"chown root:elb-access-logger /usr/bin/elb-access-logger", "chmod 0750 /usr/bin/elb-access-logger", "setcap cap_net_bind_service=+ep /usr/bin/elb-access-logger"}
	tests := []struct {
		name, script, arg   string
		systemd, userExists bool
		want                []string
		wantFail            []string // when the tools fail; nil: want
	}{
		{"pre install creates the user", "preinstall.sh", "1", true, false, []string{groupadd, useradd}, nil},
		{"pre upgrade keeps the user", "preinstall.sh", "2", true, true, nil, nil},
		{"pre reinstall over an existing user", "preinstall.sh", "1", false, true, nil, nil},
		{"post install systemd", "postinstall.sh", "1", true, true, []string{reload, "systemctl --no-reload preset elb-access-logger.service"}, nil},
		{"post upgrade systemd", "postinstall.sh", "2", true, true, []string{reload}, nil},
		{"post install sysv", "postinstall.sh", "1", false, true, append([]string{"chkconfig --add elb-access-logger"}, sysvCap...),
			[]string{"chkconfig --add elb-access-logger", sysvCap[0]}},
		{"post upgrade sysv restricts the binary and sets the capability again", "postinstall.sh", "2", false, true, sysvCap, sysvCap[:1]},
		{"preun erase systemd stops", "preremove.sh", "0", true, true, []string{"systemctl --no-reload disable --now elb-access-logger.service"}, nil},
		{"preun upgrade systemd leaves it running", "preremove.sh", "1", true, true, nil, nil},
		{"preun erase sysv stops", "preremove.sh", "0", false, true, []string{"service elb-access-logger stop", "chkconfig --del elb-access-logger"}, nil},
		{"preun upgrade sysv leaves it running", "preremove.sh", "1", false, true, nil, nil},
		{"postun upgrade systemd restarts", "postremove.sh", "1", true, true, []string{reload, "systemctl try-restart elb-access-logger.service"}, nil},
		{"postun erase systemd", "postremove.sh", "0", true, true, []string{reload}, nil},
		{"postun upgrade sysv restarts", "postremove.sh", "1", false, true, []string{"service elb-access-logger condrestart"}, nil},
		{"postun erase sysv", "postremove.sh", "0", false, true, nil, nil},
	}
	for _, tt := range tests {
		for _, fail := range []bool{false, true} {
			name := tt.name
			if fail {
				name += " (tools fail)"
			}
			t.Run(name, func(t *testing.T) {
				dir, log := stubTools(t, tt.systemd, tt.userExists, fail)
				script, err := filepath.Abs(filepath.Join("scripts", tt.script))
				if err != nil {
					t.Fatal(err)
				}
				cmd := exec.Command("/bin/sh", script, tt.arg)
				cmd.Env = []string{"PATH=" + dir}
				out, err := cmd.CombinedOutput()
				if err != nil {
					t.Fatalf("%s %s: %v (a failing scriptlet fails the rpm transaction)\n%s", tt.script, tt.arg, err, out)
				}
				data, _ := os.ReadFile(log)
				var got []string
				if s := strings.TrimSpace(string(data)); s != "" {
					got = strings.Split(s, "\n")
				}
				want := tt.want
				if fail && tt.wantFail != nil {
					want = tt.wantFail
				}
				if strings.Join(got, "\n") != strings.Join(want, "\n") {
					t.Errorf("%s %s ran:\n%s\nwant:\n%s", tt.script, tt.arg, strings.Join(got, "\n"), strings.Join(want, "\n"))
				}
			})
		}
	}
}

// TestScriptletsIdempotentUser: %pre twice (install, then reinstall) makes
// the user once.
func TestScriptletsIdempotentUser(t *testing.T) {
	dir, log := stubTools(t, true, false, false)
	for _, arg := range []string{"1", "2", "1"} {
		cmd := exec.Command("/bin/sh", filepath.Join("scripts", "preinstall.sh"), arg)
		cmd.Env = []string{"PATH=" + dir}
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("preinstall.sh %s: %v\n%s", arg, err, out)
		}
	}
	data, _ := os.ReadFile(log)
	if n := strings.Count(string(data), "useradd "); n != 1 {
		t.Errorf("useradd calls over three %%pre runs: got %d, want 1\n%s", n, data)
	}
	if n := strings.Count(string(data), "groupadd "); n != 1 {
		t.Errorf("groupadd calls over three %%pre runs: got %d, want 1\n%s", n, data)
	}
}

// TestScriptletsJoinHAProxyGroup: %pre adds the agent's user to HAProxy's
// group when that group exists, on install and on upgrade, so the unix
// socket's default group (haproxy, mode 0660) works; without the group it
// does nothing, and a failing usermod fails nothing.
func TestScriptletsJoinHAProxyGroup(t *testing.T) {
	const usermod = "usermod -a -G haproxy elb-access-logger"
	for _, tt := range []struct {
		name          string
		arg           string
		userExists    bool
		haproxy, fail bool
		want          string
	}{
		{"install, haproxy group", "1", false, true, false, usermod},
		{"upgrade, haproxy group", "2", true, true, false, usermod},
		{"install, no haproxy group", "1", false, false, false, ""},
		{"upgrade, no haproxy group", "2", true, false, false, ""},
		{"upgrade, haproxy group, usermod fails", "2", true, true, true, usermod},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir, log := stubTools(t, true, tt.userExists, tt.fail)
			if tt.haproxy {
				f, err := os.OpenFile(filepath.Join(dir, "state"), os.O_APPEND|os.O_WRONLY, 0)
				if err != nil {
					t.Fatal(err)
				}
				f.WriteString("group haproxy\n")
				f.Close()
			}
			cmd := exec.Command("/bin/sh", filepath.Join("scripts", "preinstall.sh"), tt.arg)
			cmd.Env = []string{"PATH=" + dir}
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("preinstall.sh %s: %v (a failing scriptlet fails the rpm transaction)\n%s", tt.arg, err, out)
			}
			data, _ := os.ReadFile(log)
			var got []string
			for _, l := range strings.Split(strings.TrimSpace(string(data)), "\n") {
				if strings.HasPrefix(l, "usermod ") {
					got = append(got, l)
				}
			}
			if strings.Join(got, "\n") != tt.want {
				t.Errorf("usermod calls: %q, want %q", got, tt.want)
			}
		})
	}
}
