package packaging_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestPreinstallKernel: %pre refuses a kernel older than 3.2 (Go 1.24 and
// later need Linux 3.2: EL7 and later) with a message naming it, before
// creating the user, and lets newer kernels and unreadable versions through.
func TestPreinstallKernel(t *testing.T) {
	tests := []struct {
		kernel string
		ok     bool
	}{
		{"2.6.32-754.35.1.el6.x86_64", false}, // CentOS 6
		{"3.1.10", false},
		{"3.2.0", true},
		{"3.10.0-1160.el7.x86_64", true}, // CentOS 7
		{"4.18.0-553.el8_10.x86_64", true},
		{"6.1.0-28-amd64", true},
		{"", true},      // no version: let through
		{"weird", true}, // not understood: let through
	}
	script, err := filepath.Abs(filepath.Join("scripts", "preinstall.sh"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.kernel, func(t *testing.T) {
			dir, log := stubTools(t, true, false, false)
			uname := "#!/bin/sh\necho '" + tt.kernel + "'\n"
			if err := os.WriteFile(filepath.Join(dir, "uname"), []byte(uname), 0o755); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command("/bin/sh", script, "1")
			cmd.Env = []string{"PATH=" + dir}
			out, err := cmd.CombinedOutput()
			calls, _ := os.ReadFile(log)
			if tt.ok {
				if err != nil {
					t.Fatalf("preinstall.sh on %q: %v\n%s", tt.kernel, err, out)
				}
				if !strings.Contains(string(calls), "useradd ") {
					t.Errorf("preinstall.sh on %q: no useradd in\n%s", tt.kernel, calls)
				}
				return
			}
			if err == nil {
				t.Fatalf("preinstall.sh on %q: exit 0, want a failure (rpm then installs nothing)", tt.kernel)
			}
			want := "elb-access-logger: kernel " + tt.kernel + " is older than 3.2: this package needs Linux 3.2 or later (EL7 and later)"
			if !strings.Contains(string(out), want) {
				t.Errorf("preinstall.sh on %q: got %q, want %q", tt.kernel, out, want)
			}
			if len(calls) != 0 {
				t.Errorf("preinstall.sh on %q ran\n%s\nwant nothing", tt.kernel, calls)
			}
		})
	}
}

// TestRPMSaysEL7: the package's description and the SysV script's header
// say which systems it is for, so nobody installs it on EL6 by hope.
func TestRPMSaysEL7(t *testing.T) {
	rpmBin := requireTool(t, "rpm", "rpm")
	desc := run(t, workDir, rpmBin, "-qp", "--qf", "%{DESCRIPTION}", buildRPM(t, "1.0.0"))
	for _, want := range []string{"EL7 and later", "Linux 3.2 or later", "refuses to install on an older kernel"} {
		if !strings.Contains(strings.Join(strings.Fields(desc), " "), want) {
			t.Errorf("rpm description: no %q in\n%s", want, desc)
		}
	}
	header, err := os.ReadFile("elb-access-logger.init")
	if err != nil {
		t.Fatal(err)
	}
	if h := strings.Join(strings.Fields(string(header[:1200])), " "); !strings.Contains(h, "not a promise of EL6") || !strings.Contains(h, "EL7 and later") {
		t.Errorf("SysV script header: want it to say EL7 and later, not EL6:\n%s", header[:1200])
	}
}
