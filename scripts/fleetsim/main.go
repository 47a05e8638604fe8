// Command fleetsim runs a fleet of logical agents in one process against a
// real S3-compatible store (the test bed's radosgw) and reports what the
// store received: PUTs and provisioning calls per second, peak against
// mean, PUT latency, errors, and whether every window arrived exactly once.
//
// Every logical agent is a real agent.Agent with its own identity, its own
// spool directory and its own uploader.Client; only the UDP listener is
// left out (syslog.listen is empty) and lines are handed to agent.Ingest.
// Requests are counted at an HTTP proxy in front of the store, not inside
// the agents.
//
// The run has three phases on the same spool directories: a cold start with
// access_log.upload_spread = 0 (every node provisions its bucket and
// uploads when its window ends), a restart of the whole fleet with the same
// settings (which must make no provisioning call), and another restart with
// the spread on (uploads spread over it). See
// docs/performance.md, section Fleet; make bench-fleet runs it.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"
)

type options struct {
	nodes    int
	perLB    int
	window   time.Duration
	windows  int
	spread   time.Duration
	lines    int
	dir      string
	keep     bool
	endpoint string
	access   string
	secret   string
	owner    string
}

func main() {
	var o options
	flag.IntVar(&o.nodes, "n", 1000, "logical agents (load-balancer nodes)")
	flag.IntVar(&o.perLB, "nodes-per-lb", 4, "nodes per load balancer; the nodes of one LB share its bucket")
	flag.DurationVar(&o.window, "window", 10*time.Second, "window length; must divide a minute")
	flag.IntVar(&o.windows, "windows", 3, "windows per phase")
	flag.DurationVar(&o.spread, "spread", 0, "access_log.upload_spread of the second phase (0: the window length)")
	flag.IntVar(&o.lines, "lines", 5, "lines per node and window")
	flag.StringVar(&o.dir, "dir", "", "parent of the spool directories (default: a new temporary directory, removed at the end)")
	flag.BoolVar(&o.keep, "keep", false, "keep the buckets and objects in the store")
	flag.StringVar(&o.owner, "owner", "lbowner", "load balancer owner account, grantee of READ")
	flag.Parse()
	o.endpoint = os.Getenv("TESTBED_S3_ENDPOINT")
	o.access = os.Getenv("TESTBED_LOGGER_ACCESS_KEY")
	o.secret = os.Getenv("TESTBED_LOGGER_SECRET_KEY")
	if err := o.check(); err != nil {
		fmt.Fprintln(os.Stderr, "fleetsim:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := run(ctx, o, log); err != nil {
		fmt.Fprintln(os.Stderr, "fleetsim:", err)
		os.Exit(1)
	}
}

func (o *options) check() error {
	switch {
	case o.endpoint == "" || o.access == "" || o.secret == "":
		return fmt.Errorf("TESTBED_S3_ENDPOINT, TESTBED_LOGGER_ACCESS_KEY and TESTBED_LOGGER_SECRET_KEY must be set: eval \"$(scripts/testbed.sh env)\"")
	case o.nodes < 1 || o.nodes > 100000:
		return fmt.Errorf("-n %d: want 1 to 100000", o.nodes)
	case o.window < time.Second || o.window%time.Second != 0 || time.Minute%o.window != 0:
		return fmt.Errorf("-window %v: want whole seconds that divide a minute", o.window)
	case o.windows < 1 || o.lines < 1 || o.perLB < 1:
		return fmt.Errorf("-windows, -lines and -nodes-per-lb must be at least 1")
	case o.spread < 0:
		return fmt.Errorf("-spread %v is negative", o.spread)
	}
	if o.spread == 0 {
		o.spread = o.window
	}
	return nil
}
