package packaging_test

import (
	"bytes"
	"debug/elf"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/elb-access-logger/elb-access-logger/internal/testbed"
)

// Stamps of the test builds: `make build` and `make rpm` get them as make
// variables, exactly as a release build would.
const (
	testCommit = "c0ffee1"
	testDate   = "2026-11-25T12:00:00Z"
	testBranch = "release-1.2"
)

// workDir holds the binaries and RPMs the tests build once and share.
var workDir string

func TestMain(m *testing.M) {
	d, err := os.MkdirTemp("", "elb-packaging-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	workDir = d
	code := m.Run()
	os.RemoveAll(d)
	os.Exit(code)
}

// repoRoot is the module root, where the Makefile is.
func repoRoot(t testing.TB) string {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// run runs name with args in dir and returns its stdout; a failure ends
// the test with the command and its stderr.
func run(t testing.TB, dir, name string, args ...string) string {
	t.Helper()
	out, stderr, err := runErr(dir, name, args...)
	if err != nil {
		t.Fatalf("%s %s: %v\nstdout:\n%s\nstderr:\n%s", name, strings.Join(args, " "), err, out, stderr)
	}
	return out
}

func runErr(dir, name string, args ...string) (stdout, stderr string, err error) {
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err = cmd.Run()
	return o.String(), e.String(), err
}

// requireTool returns the path of a tool the test needs, or skips (fails
// under ELB_TEST_DISALLOW_SKIP) naming the Debian package to install.
func requireTool(t testing.TB, name, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if _, serr := os.Stat("/usr/sbin/" + name); serr == nil {
			return "/usr/sbin/" + name
		}
		testbed.Skip(t, fmt.Sprintf("%s not found: apt-get install %s (make packaging-deps)", name, pkg))
	}
	return p
}

// once builds something the first time a test asks for it.
type once struct {
	sync.Once
	path string
	err  error
}

var (
	binOnce  once
	rpmOnces sync.Map // version -> *once
)

// binary returns the agent built by `make build` with version 1.2.3.
func binary(t testing.TB) string {
	t.Helper()
	binOnce.Do(func() {
		binOnce.path = filepath.Join(workDir, "bin", "elb-access-logger")
		_, stderr, err := runErr(repoRoot(t), "make", "-s", "build",
			"BIN="+binOnce.path, "VERSION=v1.2.3", "COMMIT="+testCommit, "DATE="+testDate, "BRANCH="+testBranch)
		if err != nil {
			binOnce.err = fmt.Errorf("make build: %v\n%s", err, stderr)
		}
	})
	if binOnce.err != nil {
		t.Fatal(binOnce.err)
	}
	return binOnce.path
}

// buildRPM returns the RPM `make rpm` builds for version (an rpm version
// such as 1.0.0), built once per test run.
func buildRPM(t testing.TB, version string) string {
	t.Helper()
	return buildRPMIn(t, version, "")
}

// buildRPMIn is buildRPM into a directory of its own, named by tag.
func buildRPMIn(t testing.TB, version, tag string) string {
	t.Helper()
	return buildRPMFrom(t, repoRoot(t), version, tag)
}

// buildRPMFrom runs `make rpm` in the source tree src.
func buildRPMFrom(t testing.TB, src, version, tag string) string {
	t.Helper()
	v, _ := rpmOnces.LoadOrStore(version+"/"+tag, &once{})
	o := v.(*once)
	o.Do(func() {
		dist := filepath.Join(workDir, "dist-"+version+tag)
		_, stderr, err := runErr(src, "make", "-s", "rpm",
			"DIST="+dist, "BIN="+filepath.Join(dist, "elb-access-logger"),
			"VERSION=v"+version, "COMMIT="+testCommit, "DATE="+testDate, "BRANCH="+testBranch)
		if err != nil {
			o.err = fmt.Errorf("make rpm: %v\n%s", err, stderr)
			return
		}
		o.path = filepath.Join(dist, "elb-access-logger-"+version+"-1.x86_64.rpm")
		if _, err := os.Stat(o.path); err != nil {
			o.err = fmt.Errorf("make rpm did not produce the conventional file name: %w", err)
		}
	})
	if o.err != nil {
		t.Fatal(o.err)
	}
	return o.path
}

// copyTree copies the source tree at src to a new directory, without
// .git and build output, so a test can change a packaged file.
func copyTree(t testing.TB, src string) string {
	t.Helper()
	dst := filepath.Join(workDir, fmt.Sprintf("src-%d", time.Now().UnixNano()))
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		switch rel {
		case ".git", "bin", "dist", ".testbed": // .git is a file in a worktree
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, fi.Mode().Perm())
	})
	if err != nil {
		t.Fatalf("copy source tree: %v", err)
	}
	return dst
}

// TestBinaryIsStatic checks that `make build` makes a static binary: no
// program interpreter, no dynamic section, no shared libraries.
func TestBinaryIsStatic(t *testing.T) {
	f, err := elf.Open(binary(t))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			t.Errorf("program header %v: got one, want none in a static binary", p.Type)
		}
	}
	for _, name := range []string{".interp", ".dynamic", ".dynsym"} {
		if f.Section(name) != nil {
			t.Errorf("section %s: got one, want none in a static binary", name)
		}
	}
	if libs, err := f.ImportedLibraries(); err != nil || len(libs) != 0 {
		t.Errorf("imported libraries: got %v (%v), want none", libs, err)
	}
	// -s -w: no symbol table to ship.
	if f.Section(".symtab") != nil {
		t.Errorf("section .symtab: got one, want it stripped (-ldflags -s)")
	}
}

// TestVersionStamped checks that --version prints what make stamped, in
// node_exporter's layout (prometheus/common/version).
func TestVersionStamped(t *testing.T) {
	out := run(t, workDir, binary(t), "--version")
	want := []string{
		"elb-access-logger, version v1.2.3 (branch: " + testBranch + ", revision: " + testCommit + ")",
		"  build user:       elb-access-logger",
		"  build date:       " + testDate,
		"  go version:       " + runtime.Version(),
		"  platform:         " + runtime.GOOS + "/" + runtime.GOARCH,
	}
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	for i, w := range want {
		if i >= len(lines) || lines[i] != w {
			t.Errorf("--version line %d: want %q in\n%s", i+1, w, out)
		}
	}
	// -trimpath: no build machine paths in the binary.
	data, err := os.ReadFile(binary(t))
	if err != nil {
		t.Fatal(err)
	}
	if root := repoRoot(t); bytes.Contains(data, []byte(root)) {
		t.Errorf("binary contains the build path %s: want -trimpath", root)
	}
}

// TestDefaultPropertiesCheckConfig: with the packaged defaults, the agent
// accepts its configuration.
func TestDefaultPropertiesCheckConfig(t *testing.T) {
	path, err := filepath.Abs(propertiesFile)
	if err != nil {
		t.Fatal(err)
	}
	// run fails the test unless the exit code is 0 (valid).
	run(t, workDir, binary(t), "--check-config", "--config", path)
	// And a broken copy is refused with exit code 2.
	bad := filepath.Join(t.TempDir(), "bad.properties")
	if err := os.WriteFile(bad, []byte("access_log.emit_interval = 7\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, stderr, err := runErr(workDir, binary(t), "--check-config", "--config", bad)
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 2 {
		t.Errorf("--check-config on a bad file: got %v, want exit code 2", err)
	}
	if !strings.Contains(stderr, "access_log.emit_interval") {
		t.Errorf("--check-config on a bad file: got stderr %q, want it to name the key", stderr)
	}
}

// waitFor polls cond every 50 ms until it holds or d passes.
func waitFor(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if cond() {
			return true
		}
		time.Sleep(50 * time.Millisecond)
	}
	return cond()
}
