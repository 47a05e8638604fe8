package packaging_test

import (
	"os/exec"
	"path/filepath"
	"testing"
)

// TestShellcheck: the shell the package and the init script run on
// someone else's machine passes shellcheck: the scriptlets and the SysV
// script as POSIX sh, the init script's template and its generator as bash.
func TestShellcheck(t *testing.T) {
	shellcheck := requireTool(t, "shellcheck", "shellcheck")
	scriptlets, err := filepath.Glob(filepath.Join("scripts", "*.sh"))
	if err != nil || len(scriptlets) == 0 {
		t.Fatalf("scripts/*.sh: %v, %d files", err, len(scriptlets))
	}
	for _, tt := range []struct {
		shell string
		files []string
	}{
		{"sh", append(scriptlets, "elb-access-logger.init")},
		{"bash", []string{"elb-access-logger-init.sh.in", filepath.Join("..", "scripts", "init-script.sh")}},
	} {
		out, err := exec.Command(shellcheck, append([]string{"-s", tt.shell}, tt.files...)...).CombinedOutput()
		if err != nil {
			t.Errorf("shellcheck -s %s %v: %v\n%s", tt.shell, tt.files, err, out)
		}
	}
}
