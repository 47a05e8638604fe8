package packaging_test

import (
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// Where the RPM puts the documentation and the man page.
const (
	docDir  = "/usr/share/doc/elb-access-logger"
	manPage = "/usr/share/man/man8/elb-access-logger.8.gz"
)

// docFiles are the files under docDir, relative to it, as the repository
// has them: README.md, CHANGELOG.md, LICENSE and docs/ (.md and images,
// those of docs/images/ too).
func docFiles(t testing.TB) []string {
	t.Helper()
	out := []string{"README.md", "CHANGELOG.md", "LICENSE"}
	for _, dir := range []string{"docs", "docs/images"} { // the pages show docs/images/*.png
		entries, err := os.ReadDir("../" + dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			switch filepath.Ext(e.Name()) {
			case ".md", ".png", ".svg":
				if e.Type().IsRegular() {
					out = append(out, dir+"/"+e.Name())
				}
			}
		}
	}
	return out
}

// TestRPMLicenseDocsAndManPage: the RPM names its licence, marks the man
// page as documentation, and installs the repository's README, CHANGELOG,
// LICENSE, docs/, man page and alerting rules byte for byte.
func TestRPMLicenseDocsAndManPage(t *testing.T) {
	rpmBin := requireTool(t, "rpm", "rpm")
	pkg := buildRPM(t, "1.0.0")
	if got := run(t, workDir, rpmBin, "-qp", "--qf", "%{LICENSE}", pkg); got != "Apache-2.0" {
		t.Errorf("License: got %q, want Apache-2.0", got)
	}
	if docs := strings.Fields(run(t, workDir, rpmBin, "-qdp", pkg)); !slices.Contains(docs, manPage) {
		t.Errorf("rpm -qdp: got %v, want %s among the documentation", docs, manPage)
	}
	license, err := os.ReadFile("../LICENSE")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(license, []byte("Apache License\n                           Version 2.0, January 2004")) {
		t.Errorf("LICENSE is not the Apache License 2.0")
	}

	root, flags := scratchRoot(t)
	run(t, workDir, rpmBin, append(flags, "--nodeps", "--noscripts", "-i", pkg)...)
	for _, name := range docFiles(t) {
		want, err := os.ReadFile(filepath.Join("..", name))
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join(root, docDir, name))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s/%s: got %d bytes (%v), want the repository's %s (%d bytes)", docDir, name, len(got), err, name, len(want))
		}
	}
	rules, err := os.ReadFile(rulesFile)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := os.ReadFile(filepath.Join(root, "usr/share/elb-access-logger", rulesFile)); err != nil || !bytes.Equal(got, rules) {
		t.Errorf("/usr/share/elb-access-logger/%s: got %d bytes (%v), want packaging/%s", rulesFile, len(got), err, rulesFile)
	}
	f, err := os.Open(filepath.Join(root, manPage))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatalf("%s: %v", manPage, err)
	}
	got, err := io.ReadAll(zr)
	if err != nil {
		t.Fatalf("%s: %v", manPage, err)
	}
	want, err := os.ReadFile("../docs/elb-access-logger.8")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s is not docs/elb-access-logger.8", manPage)
	}
}
