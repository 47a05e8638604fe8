package cli

import (
	"bytes"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/elb-access-logger/elb-access-logger/agent/config"
	"github.com/elb-access-logger/elb-access-logger/internal/testbed"
)

const committed = "../../" + ManPagePath

// The committed man page is exactly what the flag set and the key table
// make: a flag or key added, removed or reworded without regenerating it
// fails here (and in agent/config, whose tests a key change runs).
func TestCommittedManPageIsGenerated(t *testing.T) {
	want, err := Page()
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(committed)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s is not what the code generates: run go run ./scripts/manpage (go generate ./internal/cli)", ManPagePath)
	}
	for _, k := range config.Keys() {
		if !bytes.Contains(got, []byte(".B "+roff(k.Name)+"\n")) {
			t.Errorf("the man page lacks key %s", k.Name)
		}
	}
	for _, d := range flagDocs {
		if !bytes.Contains(got, []byte(`\fB\-\-`+roff(d.name)+`\fR`)) {
			t.Errorf("the man page lacks flag --%s", d.name)
		}
	}
}

// man(1) renders the page without a warning, with every section.
func TestManPageRenders(t *testing.T) {
	man, err := exec.LookPath("man")
	if err != nil {
		testbed.Skip(t, "man not found: apt-get install man-db (make packaging-deps)")
	}
	cmd := exec.Command(man, "--warnings", "-l", committed)
	cmd.Env = append(os.Environ(), "MANWIDTH=80", "MAN_KEEP_STDERR=1", "LC_ALL=C.UTF-8")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("man -l: %v\n%s", err, stderr.String())
	}
	if stderr.Len() > 0 {
		t.Errorf("man --warnings -l: %s", stderr.String())
	}
	text := stdout.String()
	for _, want := range []string{"NAME", "SYNOPSIS", "OPTIONS", "CONFIGURATION", "EXIT STATUS", "SIGNALS", "FILES", "SEE ALSO",
		"--gomaxprocs N", "objectstorage.endpoint", "/usr/share/doc/elb-access-logger/"} {
		if !strings.Contains(text, want) {
			t.Errorf("rendered page lacks %q", want)
		}
	}
}
