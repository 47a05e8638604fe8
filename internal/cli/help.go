package cli

import (
	"flag"
	"fmt"
	"io"
	"strings"
)

// DocDir is where the package installs README.md, CHANGELOG.md, LICENSE
// and docs/.
const DocDir = "/usr/share/doc/" + Program

// What the help and the man page say besides the flags: one source for both.
var (
	synopsis = []string{
		"[--config FILE] [--gomaxprocs N] [--pid-file FILE]",
		"--check-config [--config FILE]",
		"--replay FILE [--dry-run] [--config FILE]",
		"--version | --help",
	}
	description = "Receives HAProxy access logs over syslog (UDP, a unix datagram socket or TCP) and delivers them, window by " +
		"window, to the load balancer's bucket in an S3-compatible object store, as AWS " +
		"Classic ELB access logs. Lines are spooled on disk until the store has them."
	exitCodes = []struct {
		code int
		text string
	}{
		{ExitOK, "success: the agent stopped cleanly, --check-config found the file valid, a replay was stored"},
		{ExitRuntime, "failure while running: a listener could not be bound, the spool could not be opened, an upload was refused"},
		{ExitUsage, "usage error: a bad flag or argument, an invalid configuration"},
	}
	signals = []struct{ name, text string }{
		{"SIGHUP", "reload the property file; a bad file is rejected and logged, and the running configuration stays"},
		{"SIGTERM, SIGINT", "seal the open window, upload for up to 10 s, keep the rest in the spool; a second signal ends the process at once"},
	}
	files = []struct{ path, text string }{
		{DefaultConfigPath, "the property file (Java properties syntax)"},
		{"/etc/load-balancer-servo/servo.conf", "on a Eucalyptus load balancer, fills in the object-storage endpoint and owner the property file leaves out"},
		{"/var/spool/" + Program, "the spool: the open window and sealed windows waiting for upload"},
		{"/usr/share/" + Program + "/", "the recommended HAProxy configuration and Prometheus alerting rules"},
		{DocDir + "/", "README.md, CHANGELOG.md, LICENSE and docs/ (configuration.md: every key)"},
	}
)

// lookup returns the flag of a documented name; a name flagDocs lists
// that the flag set lacks is a programming error the tests catch.
func lookup(fs *flag.FlagSet, name string) *flag.Flag {
	f := fs.Lookup(name)
	if f == nil {
		panic("cli: flagDocs names an undefined flag --" + name)
	}
	return f
}

// WriteHelp writes --help: synopsis, flags, exit codes, files and where
// the documentation is.
func WriteHelp(w io.Writer) error {
	fs := newFlagSet(&Options{})
	var b strings.Builder
	for i, s := range synopsis {
		lead := "Usage: "
		if i > 0 {
			lead = "       "
		}
		fmt.Fprintf(&b, "%s%s %s\n", lead, Program, s)
	}
	fmt.Fprintf(&b, "\n%s\n\nFlags:\n", wrap(description, 76, ""))
	for _, d := range flagDocs {
		f := lookup(fs, d.name)
		name := "--" + d.name
		if d.arg != "" {
			name += " " + d.arg
		}
		text := f.Usage
		if d.def != "" {
			text += " (default: " + d.def + ")"
		}
		fmt.Fprintf(&b, "  %s\n%s\n", name, wrap(text, 76, "        "))
	}
	b.WriteString("\nExit codes:\n")
	for _, e := range exitCodes {
		fmt.Fprintf(&b, "  %d  %s\n", e.code, strings.TrimSpace(wrap(e.text, 76, "     ")))
	}
	b.WriteString("\nSignals:\n")
	for _, s := range signals {
		fmt.Fprintf(&b, "  %s\n%s\n", s.name, wrap(s.text, 76, "        "))
	}
	b.WriteString("\nFiles:\n")
	for _, f := range files {
		fmt.Fprintf(&b, "  %s\n%s\n", f.path, wrap(f.text, 76, "        "))
	}
	fmt.Fprintf(&b, "\nDocumentation: man 8 %s, %s/\n", Program, DocDir)
	_, err := io.WriteString(w, b.String())
	return err
}

// wrap breaks text into lines of at most width columns, each starting with
// indent.
func wrap(text string, width int, indent string) string {
	var b strings.Builder
	line := indent
	for _, word := range strings.Fields(text) {
		if len(line) > len(indent) && len(line)+1+len(word) > width {
			b.WriteString(line + "\n")
			line = indent
		}
		if len(line) > len(indent) {
			line += " "
		}
		line += word
	}
	b.WriteString(line)
	return b.String()
}
