// Command elb-access-logger receives HAProxy access logs over syslog and
// delivers them, window by window, to the load balancer's bucket.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"github.com/elb-access-logger/elb-access-logger/agent/config"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"syscall"

	"github.com/elb-access-logger/elb-access-logger/agent"
)

// Set by the linker: -X main.version=... -X main.commit=... -X main.date=...
var (
	version = "dev"
	commit  = ""
	date    = ""
)

// Exit codes.
const (
	exitOK      = 0
	exitRuntime = 1
	exitUsage   = 2
)

// usageError marks errors in the command line or the configuration.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func main() {
	// SIGHUP means reload (init script, systemctl reload): it must never
	// kill the agent, even before the configuration watcher handles it.
	signal.Ignore(syscall.SIGHUP)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// Two-stage shutdown: the first signal seals the window and makes one
	// bounded upload round; a second one ends the process at once.
	go func() { <-ctx.Done(); stop() }()
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(exitCode(err))
}

func exitCode(err error) int {
	var ue usageError
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return exitOK
	case errors.As(err, &ue):
		fmt.Fprintln(os.Stderr, "elb-access-logger:", err)
		return exitUsage
	default:
		fmt.Fprintln(os.Stderr, "elb-access-logger:", err)
		return exitRuntime
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("elb-access-logger", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", config.DefaultConfigPath, "property file")
	checkConfig := fs.Bool("check-config", false, "validate the configuration and exit 0 (valid) or 2 (invalid)")
	showVersion := fs.Bool("version", false, "print the version and exit")
	var replay replayOptions
	fs.StringVar(&replay.File, "replay", "", "feed a captured log (`FILE`, - for stdin) through parse, encode and upload as one window, then exit")
	fs.BoolVar(&replay.DryRun, "dry-run", false, "with --replay: write the encoded lines to stdout and the plan to stderr; upload nothing")
	maxProcs := fs.Int("gomaxprocs", runtime.GOMAXPROCS(0), "at most `N` threads run the agent's Go code at once; one while ingest keeps up (default: the GOMAXPROCS environment variable, else the CPUs available)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("unexpected argument %q", fs.Arg(0))}
	}
	if *maxProcs < 1 {
		return usageError{fmt.Errorf("--gomaxprocs %d: want 1 or more", *maxProcs)}
	}
	if replay.DryRun && replay.File == "" {
		// Without --replay there is nothing to dry-run: starting the live
		// agent (binding, uploading) would be the opposite of what was asked.
		return usageError{errors.New("--dry-run needs --replay FILE")}
	}
	if *showVersion {
		fmt.Fprintf(stdout, "elb-access-logger %s %s %s\n", version, commit, date)
		return nil
	}
	explicit := false
	fs.Visit(func(f *flag.Flag) { explicit = explicit || f.Name == "config" })
	if *checkConfig {
		return runCheckConfig(ctx, *configPath, explicit, stdout)
	}
	cfg, err := config.LoadConfig(*configPath, explicit)
	if err != nil {
		return usageError{err}
	}
	if replay.File != "" {
		return runReplay(ctx, cfg, replay, os.Stdin, stdout, stderr)
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	for _, w := range cfg.Warnings() {
		log.Warn("configuration: " + w)
	}
	a, err := newAgent(cfg, log)
	if err != nil {
		return usageError{err}
	}
	threads := newThreads(*maxProcs, log)
	a.OnBehind(threads.behind)
	log.Info("runtime", "gomaxprocs", 1, "gomaxprocs_max", *maxProcs)
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	a.WatchConfig(*configPath, explicit, hup)
	if err := a.Start(); err != nil {
		return err
	}
	// After Start: on one thread the start-up to a bound socket took
	// about 10 ms longer (median of 8, 32 against 22 ms).
	threads.start(ctx)
	return a.Run(ctx)
}

// newAgent builds the uploader and the agent cfg describes.
func newAgent(cfg *config.Config, log *slog.Logger) (*agent.Agent, error) {
	up, err := newUploader(cfg, log)
	if err != nil {
		return nil, err
	}
	a, err := agent.New(cfg, up, log)
	if err != nil {
		return nil, err
	}
	src, err := newELBClient(cfg)
	if err != nil {
		return nil, err
	}
	a.SetAccessLogSource(src)
	return a, nil
}
