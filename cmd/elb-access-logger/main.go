// Command elb-access-logger receives HAProxy access logs over syslog and
// delivers them, window by window, to the load balancer's bucket.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"syscall"

	"github.com/elb-access-logger/elb-access-logger/agent"
	"github.com/elb-access-logger/elb-access-logger/agent/config"
	"github.com/elb-access-logger/elb-access-logger/agent/control"
	"github.com/elb-access-logger/elb-access-logger/internal/cli"
	"github.com/elb-access-logger/elb-access-logger/internal/logging"
	"github.com/prometheus/common/version"
)

func init() {
	// The Makefile stamps these (-X github.com/prometheus/common/version.*);
	// a plain go build says so rather than printing blanks.
	for _, v := range []*string{&version.Version, &version.Branch, &version.BuildUser, &version.BuildDate} {
		if *v == "" {
			*v = "unknown"
		}
	}
}

// Exit codes (cli.Exit*).
const (
	exitOK      = cli.ExitOK
	exitRuntime = cli.ExitRuntime
	exitUsage   = cli.ExitUsage
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
	if err == nil {
		return exitOK
	}
	fmt.Fprintln(os.Stderr, "elb-access-logger:", err)
	if errors.As(err, new(usageError)) {
		return exitUsage
	}
	return exitRuntime
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	opts, err := cli.Parse(args)
	if err != nil {
		return usageError{err}
	}
	switch {
	case opts.Help:
		return cli.WriteHelp(stdout)
	case opts.Version:
		_, err := fmt.Fprintln(stdout, version.Print(cli.Program))
		return err
	case opts.CheckConfig:
		return runCheckConfig(ctx, opts.Config, opts.ConfigExplicit, stdout)
	}
	maxProcs := opts.MaxProcs
	if maxProcs == 0 {
		maxProcs = runtime.GOMAXPROCS(0)
	}
	cfg, err := config.LoadConfig(opts.Config, opts.ConfigExplicit)
	if err != nil {
		return usageError{err}
	}
	if opts.Replay != "" {
		return runReplay(ctx, cfg, replayOptions{File: opts.Replay, DryRun: opts.DryRun}, os.Stdin, stdout, stderr)
	}
	// log.level and log.format; a reload changes them (agent.storeLive).
	logs, err := logging.New(stderr, cfg.LogLevel, cfg.LogFormat)
	if err != nil {
		return usageError{err} // config checked them: not reached
	}
	log := logs.Logger()
	for _, w := range cfg.Warnings() {
		log.Warn("configuration: " + w)
	}
	a, err := newAgent(cfg, log)
	if err != nil {
		return usageError{err}
	}
	threads := newThreads(maxProcs, log)
	a.OnBehind(threads.behind)
	log.Info("runtime", "gomaxprocs", 1, "gomaxprocs_max", maxProcs)
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	a.WatchConfig(opts.Config, opts.ConfigExplicit, hup)
	a.OnReload(func(done bool, err error) { notifyReload(done, err, a.Listeners(), log) })
	if err := a.Start(); err != nil {
		return err
	}
	ready, err := announceReady(ctx, a.Listeners(), cfg.SpoolDir, opts.PidFile, log)
	if err != nil {
		return err // exit 1 before Run: nothing was read from the sockets yet
	}
	defer ready()
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
	store := &regionalStore{opts: uploaderOptions(cfg), c: up}
	a, err := agent.New(cfg, store, log)
	if err != nil {
		return nil, err
	}
	elb := &regionalELB{build: func(region string) (*control.ELBClient, error) { return newELBClient(cfg, region) }}
	if err := elb.SetRegion(cfg.SigningRegion()); err != nil {
		return nil, err
	}
	a.SetAccessLogSource(elb)
	a.OnIdentity(followRegion(cfg, store, elb, log))
	return a, nil
}
