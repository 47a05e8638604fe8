// Package cli is the agent's command line: its flags, their parsing, the
// --help text and the man page. The help and the man page are rendered
// from the same flag set the command parses, so they cannot drift from it.
package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Program is the command's name.
const Program = "elb-access-logger"

// DefaultConfigPath is where the agent looks for its property file.
const DefaultConfigPath = "/etc/elb-access-logger/access-log.properties"

// Exit codes.
const (
	ExitOK      = 0 // done: the agent stopped cleanly, the file is valid, the replay was stored
	ExitRuntime = 1 // failed while running: a listener, the spool, the store
	ExitUsage   = 2 // a bad command line or configuration
)

// Options are what the command line asks for.
type Options struct {
	Config         string
	ConfigExplicit bool // --config was given
	CheckConfig    bool
	Version        bool
	Help           bool
	Replay         string // "-" is stdin
	DryRun         bool
	MaxProcs       int    // 0: GOMAXPROCS from the environment, else the CPUs available
	PidFile        string // written once the agent is ready, removed at exit
}

// procs is --gomaxprocs: 1 or more; unset is 0.
type procs struct{ n *int }

func (p procs) String() string {
	if p.n == nil || *p.n == 0 {
		return ""
	}
	return strconv.Itoa(*p.n)
}

func (p procs) Set(s string) error {
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		return errors.New("want a whole number, 1 or more")
	}
	*p.n = n
	return nil
}

// flagDoc is what the help and the man page say of a flag beyond its
// usage string: the flags in the order they are documented, each with the
// placeholder of its argument (empty for a switch) and its default as a
// person reads it (empty for none).
var flagDocs = []struct{ name, arg, def string }{
	{"config", "FILE", DefaultConfigPath},
	{"check-config", "", ""},
	{"replay", "FILE", ""},
	{"dry-run", "", ""},
	{"gomaxprocs", "N", "the GOMAXPROCS environment variable, else the CPUs available"},
	{"pid-file", "FILE", ""},
	{"version", "", ""},
	{"help", "", ""},
}

// newFlagSet binds the flags to o. It prints nothing: errors are returned
// and reported once by the caller, help is WriteHelp's.
func newFlagSet(o *Options) *flag.FlagSet {
	fs := flag.NewFlagSet(Program, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	fs.StringVar(&o.Config, "config", DefaultConfigPath, "the property file; without it, a missing default file means the embedded defaults")
	fs.BoolVar(&o.CheckConfig, "check-config", false, "print the effective configuration, each value with its source and secrets masked, then exit 0 if it is valid or 2 if not")
	fs.StringVar(&o.Replay, "replay", "", "feed a captured log (FILE, or - for stdin) through parse, encode and upload as one window, then exit")
	fs.BoolVar(&o.DryRun, "dry-run", false, "with --replay: write the encoded lines to stdout and the plan to stderr; upload nothing")
	fs.Var(procs{&o.MaxProcs}, "gomaxprocs", "at most N threads run the agent's Go code at once; one while ingest keeps up")
	fs.StringVar(&o.PidFile, "pid-file", "", "write the agent's pid to FILE once it is ready (every listener bound, the spool open), as systemd learns from READY=1; remove it at exit. For init scripts")
	fs.BoolVar(&o.Version, "version", false, "print the version, revision, branch, build date, Go version and platform, then exit")
	fs.BoolVar(&o.Help, "help", false, "print this help, then exit")
	return fs
}

// UsageError is a mistake in the command line.
type UsageError struct{ msg string }

func (e *UsageError) Error() string { return e.msg }

// Parse reads the command line (without the program name). A mistake is a
// *UsageError naming the flag with its two dashes; -h and --help set Help.
func Parse(args []string) (*Options, error) {
	o := &Options{}
	fs := newFlagSet(o)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) { // -h
			o.Help = true
			return o, nil
		}
		return nil, usagef("%s", dashes(err.Error()))
	}
	fs.Visit(func(f *flag.Flag) { o.ConfigExplicit = o.ConfigExplicit || f.Name == "config" })
	switch {
	case o.Help || o.Version:
		return o, nil
	case fs.NArg() > 0:
		return nil, usagef("unexpected argument %q", fs.Arg(0))
	case o.DryRun && o.Replay == "":
		// Without --replay there is nothing to dry-run: starting the live
		// agent (binding, uploading) would be the opposite of what was asked.
		return nil, usagef("--dry-run needs --replay FILE")
	case o.CheckConfig && o.Replay != "":
		return nil, usagef("--check-config and --replay do not go together")
	case o.PidFile != "" && (o.CheckConfig || o.Replay != ""):
		return nil, usagef("--pid-file is for the running agent, not --check-config or --replay")
	}
	return o, nil
}

func usagef(format string, args ...any) error {
	return &UsageError{fmt.Sprintf(format, args...) + " (see " + Program + " --help)"}
}

// dashes rewrites the flag package's "-name" as "--name" in its errors,
// the spelling the documentation uses.
func dashes(msg string) string {
	for _, p := range []string{"flag -", "argument: -", "defined: -", "for -"} {
		if i := strings.Index(msg, p); i >= 0 && !strings.HasPrefix(msg[i+len(p):], "-") {
			return msg[:i+len(p)] + "-" + msg[i+len(p):]
		}
	}
	return msg
}
