package packaging_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// The system user of the scratch root, as the %pre scriptlet would make it.
const (
	testUID = 990
	testGID = 990
)

// packagedFile is one file of the RPM as rpm reports it.
type packagedFile struct {
	perms, user, group, flags string
}

// rpmFiles lists the files of an RPM with perms, owner and flags.
func rpmFiles(t *testing.T, rpmBin, pkg string) map[string]packagedFile {
	t.Helper()
	out := run(t, workDir, rpmBin, "-qp", "--qf",
		`[%{FILENAMES}\t%{FILEMODES:perms}\t%{FILEUSERNAME}\t%{FILEGROUPNAME}\t%{FILEFLAGS:fflags}\n]`, pkg)
	files := map[string]packagedFile{}
	for _, line := range strings.Split(strings.TrimRight(out, "\n"), "\n") {
		f := strings.Split(line, "\t")
		if len(f) != 5 {
			t.Fatalf("rpm -qp --qf: unexpected line %q", line)
		}
		files[f[0]] = packagedFile{f[1], f[2], f[3], f[4]}
	}
	return files
}

// haproxyFiles are the files of packaging/haproxy/ the RPM must carry.
func haproxyFiles(t *testing.T) []string {
	t.Helper()
	entries, err := os.ReadDir("haproxy")
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		if e.Type().IsRegular() && !strings.HasSuffix(e.Name(), ".go") {
			out = append(out, e.Name())
		}
	}
	return out
}

// wantFiles is what the RPM installs: path -> perms, owner, group, and
// whether it is %config(noreplace).
func wantFiles(t *testing.T) map[string]packagedFile {
	const user = "elb-access-logger"
	want := map[string]packagedFile{
		"/usr/bin/elb-access-logger":                        {"-rwxr-xr-x", "root", "root", ""},
		"/usr/lib/systemd/system/elb-access-logger.service": {"-rw-r--r--", "root", "root", ""},
		"/etc/rc.d/init.d/elb-access-logger":                {"-rwxr-xr-x", "root", "root", ""},
		"/etc/elb-access-logger":                            {"drwxr-x---", "root", user, ""},
		"/etc/elb-access-logger/access-log.properties":      {"-rw-r-----", "root", user, "cn"},
		"/etc/logrotate.d/elb-access-logger":                {"-rw-r--r--", "root", "root", "cn"},
		"/var/spool/elb-access-logger":                      {"drwxr-x---", user, user, ""},
		"/usr/share/elb-access-logger":                      {"drwxr-xr-x", "root", "root", ""},
	}
	for _, name := range haproxyFiles(t) {
		want["/usr/share/elb-access-logger/"+name] = packagedFile{"-rw-r--r--", "root", "root", ""}
	}
	for _, name := range docFiles(t) {
		want[docDir+"/"+name] = packagedFile{"-rw-r--r--", "root", "root", ""}
	}
	want["/usr/share/elb-access-logger/prometheus"] = packagedFile{"drwxr-xr-x", "root", "root", ""}
	want["/usr/share/elb-access-logger/prometheus/elb-access-logger.rules.yml"] = packagedFile{"-rw-r--r--", "root", "root", ""}
	want[docDir] = packagedFile{"drwxr-xr-x", "root", "root", ""}
	want[docDir+"/docs"] = packagedFile{"drwxr-xr-x", "root", "root", ""}
	want[docDir+"/docs/images"] = packagedFile{"drwxr-xr-x", "root", "root", ""}
	want[manPage] = packagedFile{"-rw-r--r--", "root", "root", "d"}
	return want
}

// TestRPMContents checks every file of the package: mode, owner, group,
// config flags, and that nothing else is in it.
func TestRPMContents(t *testing.T) {
	rpmBin := requireTool(t, "rpm", "rpm")
	got := rpmFiles(t, rpmBin, buildRPM(t, "1.0.0"))
	want := wantFiles(t)
	for path, w := range want {
		g, ok := got[path]
		if !ok {
			t.Errorf("%s: missing from the RPM", path)
			continue
		}
		if g != w {
			t.Errorf("%s: got %+v, want %+v", path, g, w)
		}
	}
	for path, g := range got {
		if _, ok := want[path]; !ok {
			t.Errorf("%s: unexpected in the RPM (%+v)", path, g)
		}
		if g.perms[8] == 'w' {
			t.Errorf("%s: world-writable (%s)", path, g.perms)
		}
	}
	if len(haproxyFiles(t)) == 0 {
		t.Log("packaging/haproxy/ has no files yet: /usr/share/elb-access-logger/ is empty")
	}
	// The package's own metadata.
	info := run(t, workDir, rpmBin, "-qp", "--qf", "%{NAME} %{VERSION} %{RELEASE} %{ARCH}", buildRPM(t, "1.0.0"))
	if want := "elb-access-logger 1.0.0 1 x86_64"; info != want {
		t.Errorf("rpm -qp: got %q, want %q", info, want)
	}
	if cfg := strings.TrimSpace(run(t, workDir, rpmBin, "-qcp", buildRPM(t, "1.0.0"))); !strings.Contains(cfg, "/etc/elb-access-logger/access-log.properties") {
		t.Errorf("rpm -qcp: got %q, want the property file listed as config", cfg)
	}
}

// TestRPMScriptletsPackaged checks that rpm -qp --scripts shows exactly
// the scriptlets of packaging/scripts/.
func TestRPMScriptletsPackaged(t *testing.T) {
	rpmBin := requireTool(t, "rpm", "rpm")
	pkg := buildRPM(t, "1.0.0")
	tests := []struct{ tag, file string }{
		{"PREIN", "preinstall.sh"},
		{"POSTIN", "postinstall.sh"},
		{"PREUN", "preremove.sh"},
		{"POSTUN", "postremove.sh"},
	}
	for _, tt := range tests {
		t.Run(tt.tag, func(t *testing.T) {
			got := run(t, workDir, rpmBin, "-qp", "--qf", "%{"+tt.tag+"}", pkg)
			want, err := os.ReadFile(filepath.Join("scripts", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			if strings.TrimSpace(got) != strings.TrimSpace(string(want)) {
				t.Errorf("%%{%s}: got\n%s\nwant scripts/%s:\n%s", tt.tag, got, tt.file, want)
			}
			if prog := run(t, workDir, rpmBin, "-qp", "--qf", "%{"+tt.tag+"PROG}", pkg); prog != "/bin/sh" {
				t.Errorf("%%{%sPROG}: got %q, want /bin/sh", tt.tag, prog)
			}
		})
	}
	scripts := run(t, workDir, rpmBin, "-qp", "--scripts", pkg)
	for _, want := range []string{"preinstall scriptlet", "postinstall scriptlet", "preuninstall scriptlet", "postuninstall scriptlet"} {
		if !strings.Contains(scripts, want) {
			t.Errorf("rpm -qp --scripts: no %q in\n%s", want, scripts)
		}
	}
}

// scratchRoot makes an EL-like root with the system user already present
// (as %pre creates it) and returns rpm's flags to use it.
func scratchRoot(t *testing.T) (root string, flags []string) {
	t.Helper()
	root = t.TempDir()
	files := map[string]string{
		"etc/passwd": fmt.Sprintf("root:x:0:0:root:/root:/bin/bash\nelb-access-logger:x:%d:%d:elb-access-logger agent:/var/spool/elb-access-logger:/sbin/nologin\n", testUID, testGID),
		"etc/group":  fmt.Sprintf("root:x:0:\nelb-access-logger:x:%d:\n", testGID),
	}
	for name, data := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root, []string{"--root", root, "--dbpath", "/var/lib/rpm"}
}

// statFile is one installed file's mode and owner.
type statFile struct {
	mode     os.FileMode
	uid, gid uint32
}

func stat(t *testing.T, path string) statFile {
	t.Helper()
	fi, err := os.Lstat(path)
	if err != nil {
		t.Fatalf("installed file: %v", err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	return statFile{fi.Mode(), st.Uid, st.Gid}
}

// newDefaults is what the newer build adds to its default property file.
const newDefaults = "\n# a default added by 1.0.1\n#access_log.enabled = true\n"

// TestRPMInstallUpgradeErase installs the RPM into a scratch root with
// Debian's rpm, checks modes and owners on disk, upgrades to a newer build
// whose default property file changed (the operator's edit stays, the new
// default lands beside it as .rpmnew: %config(noreplace)), keeps the
// spool, and erases the package.
func TestRPMInstallUpgradeErase(t *testing.T) {
	rpmBin := requireTool(t, "rpm", "rpm")
	v1 := buildRPM(t, "1.0.0")
	src := copyTree(t, repoRoot(t))
	props := filepath.Join(src, "packaging", propertiesFile)
	f, err := os.OpenFile(props, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(newDefaults); err != nil {
		t.Fatal(err)
	}
	f.Close()
	v2 := buildRPMFrom(t, src, "1.0.1", "changed-defaults")
	root, flags := scratchRoot(t)
	rpm := func(args ...string) string { return run(t, workDir, rpmBin, append(flags, args...)...) }
	// Scriptlets are checked by TestScriptlet*: the scratch root has no
	// shell to run them in.
	change := func(args ...string) { rpm(append([]string{"--nodeps", "--noscripts"}, args...)...) }

	change("-i", v1)
	const u = testUID
	tests := []struct {
		path string
		want statFile
	}{
		{"usr/bin/elb-access-logger", statFile{0o755, 0, 0}},
		{"usr/lib/systemd/system/elb-access-logger.service", statFile{0o644, 0, 0}},
		{"etc/rc.d/init.d/elb-access-logger", statFile{0o755, 0, 0}},
		{"etc/elb-access-logger", statFile{os.ModeDir | 0o750, 0, testGID}},
		{"etc/elb-access-logger/access-log.properties", statFile{0o640, 0, testGID}},
		{"etc/logrotate.d/elb-access-logger", statFile{0o644, 0, 0}},
		{"var/spool/elb-access-logger", statFile{os.ModeDir | 0o750, u, testGID}},
		{"usr/share/elb-access-logger", statFile{os.ModeDir | 0o755, 0, 0}},
	}
	for _, tt := range tests {
		if got := stat(t, filepath.Join(root, tt.path)); got != tt.want {
			t.Errorf("/%s after install: got mode %v uid %d gid %d, want mode %v uid %d gid %d",
				tt.path, got.mode, got.uid, got.gid, tt.want.mode, tt.want.uid, tt.want.gid)
		}
	}
	for _, name := range haproxyFiles(t) {
		want, _ := os.ReadFile(filepath.Join("haproxy", name))
		got, err := os.ReadFile(filepath.Join(root, "usr/share/elb-access-logger", name))
		if err != nil || string(got) != string(want) {
			t.Errorf("/usr/share/elb-access-logger/%s: got %d bytes (%v), want packaging/haproxy/%s", name, len(got), err, name)
		}
	}
	bin := filepath.Join(root, "usr/bin/elb-access-logger")
	if out := run(t, workDir, bin, "--version"); !strings.Contains(out, "v1.0.0") {
		t.Errorf("installed binary --version: got %q, want v1.0.0", out)
	}
	installedCfg := filepath.Join(root, "etc/elb-access-logger/access-log.properties")
	run(t, workDir, bin, "--check-config", "--config", installedCfg)

	// The operator edits the property file; the spool holds a sealed
	// segment waiting for its upload.
	edited := "# edited by the image\naccess_log.emit_interval = 5\n"
	if err := os.WriteFile(installedCfg, []byte(edited), 0o640); err != nil {
		t.Fatal(err)
	}
	segment := filepath.Join(root, "var/spool/elb-access-logger/pending.seg")
	if err := os.WriteFile(segment, []byte("a line\n"), 0o640); err != nil {
		t.Fatal(err)
	}

	change("-U", v2)
	if got := rpm("-q", "--qf", "%{VERSION}", "elb-access-logger"); got != "1.0.1" {
		t.Errorf("installed version after upgrade: got %q, want 1.0.1", got)
	}
	if out := run(t, workDir, bin, "--version"); !strings.Contains(out, "v1.0.1") {
		t.Errorf("binary --version after upgrade: got %q, want v1.0.1", out)
	}
	if got, err := os.ReadFile(installedCfg); err != nil || string(got) != edited {
		t.Errorf("property file after upgrade: got %d bytes starting %q (%v), want the operator's edit %q kept", len(got), got[:min(len(got), 40)], err, edited)
	}
	newFile, _ := os.ReadFile(props)
	if got, err := os.ReadFile(installedCfg + ".rpmnew"); err != nil || string(got) != string(newFile) {
		t.Errorf("property file .rpmnew after upgrade: got %d bytes (%v), want the new defaults (%d bytes)", len(got), err, len(newFile))
	}
	if got, err := os.ReadFile(segment); err != nil || string(got) != "a line\n" {
		t.Errorf("spool segment after upgrade: got %q (%v), want it kept", got, err)
	}
	if got := stat(t, filepath.Join(root, "var/spool/elb-access-logger")); got.uid != u || got.mode != os.ModeDir|0o750 {
		t.Errorf("spool after upgrade: got mode %v uid %d, want drwxr-x--- uid %d", got.mode, got.uid, u)
	}
	if got := stat(t, installedCfg); got.mode != 0o640 || got.gid != testGID {
		t.Errorf("property file after upgrade: got mode %v gid %d, want 0640 gid %d", got.mode, got.gid, testGID)
	}

	// Erase: the edited config is saved, the spool's data stays.
	change("-e", "elb-access-logger")
	if _, err := os.Stat(bin); !os.IsNotExist(err) {
		t.Errorf("binary after erase: got %v, want it gone", err)
	}
	if got, err := os.ReadFile(installedCfg + ".rpmsave"); err != nil || string(got) != edited {
		t.Errorf("property file after erase: got %q (%v), want it saved as .rpmsave", got, err)
	}
	if _, err := os.Stat(segment); err != nil {
		t.Errorf("spool segment after erase: %v, want it kept", err)
	}
}

// TestRPMReproducible: two builds of the same tree and version are the
// same bytes (SOURCE_DATE_EPOCH, -trimpath, a fixed build host).
func TestRPMReproducible(t *testing.T) {
	a, b := buildRPM(t, "1.0.0"), buildRPMIn(t, "1.0.0", "again")
	da, err := os.ReadFile(a)
	if err != nil {
		t.Fatal(err)
	}
	db, err := os.ReadFile(b)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(da, db) {
		t.Errorf("two builds of 1.0.0 differ: %s (%d bytes) and %s (%d bytes)", a, len(da), b, len(db))
	}
}
