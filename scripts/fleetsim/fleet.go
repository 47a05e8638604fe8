package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"github.com/elb-access-logger/elb-access-logger/agent/config"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/elb-access-logger/elb-access-logger/agent"
	"github.com/elb-access-logger/elb-access-logger/uploader"
)

// node is one logical load-balancer node. The nodes of one load balancer
// share its bucket (radosgw allows an account 1,000 buckets, and the bed's
// is shared with other tests), with the aws key layout, whose keys name the
// node.
type node struct {
	i      int
	lb     int
	lbName string
	ip     string
	iid    string
	spool  string
	bucket string
}

func newFleet(o options, run, dir string) []node {
	nodes := make([]node, o.nodes)
	for i := range nodes {
		n := node{
			i:      i,
			lb:     i / o.perLB,
			lbName: fmt.Sprintf("fs%s-lb%05d", run, i/o.perLB),
			ip:     fmt.Sprintf("10.%d.%d.%d", 1+i>>16, (i>>8)&0xff, i&0xff),
			iid:    fmt.Sprintf("i-%s%04x", run, i&0xffff),
			spool:  filepath.Join(dir, fmt.Sprintf("node-%05d", i)),
		}
		n.bucket = "fleet-" + n.lbName
		nodes[i] = n
	}
	return nodes
}

// config is the property set of n in a phase: the packaged defaults, with
// the identity, the store and the test's window and spread.
func (n node) config(o options, proxyURL string, spread time.Duration) *config.Config {
	c := config.DefaultConfig()
	c.Schedule = fmt.Sprintf("*/%d * * * * *", int(o.window/time.Second))
	c.Format = "raw"
	c.Bucket, c.KeyLayout = "fleet-{lb_name}", "aws"
	c.Listen = nil // lines come through Ingest
	c.LBName, c.NodeIP, c.InstanceID, c.OwnerAccount, c.Region = n.lbName, n.ip, n.iid, o.owner, "us-east-1"
	c.MetadataEndpoint, c.MetricsListen = "", "" // a thousand agents: no metrics port each
	c.SpoolDir = n.spool
	c.FsyncInterval = 2 * time.Second
	c.LifecycleDays = 365 // in the bed a lifecycle "day" is 10 s: outlive the run
	c.StoreEndpoint, c.AccessKeyID, c.SecretAccessKey = proxyURL, o.access, o.secret
	c.UploadSpread = spread
	return c
}

// phaseResult is one phase: what the proxy saw and what the agents said.
type phaseResult struct {
	name          string
	spread        time.Duration
	counts        counts
	windowEnds    []time.Time // of the windows lines were written to
	uploadsOK     int64
	uploadsFailed int64
	provisions    int64 // Provision calls that succeeded, by the agents' count
	startup       time.Duration
	incomplete    int // nodes that had not uploaded every window at the deadline
}

// runPhase starts every node as a fresh agent process would (new Agent,
// new uploader.Client, the spool directory of the node), feeds o.lines
// lines per node into each of o.windows windows, waits until the windows
// are uploaded, and stops the fleet as SIGTERM would.
func runPhase(ctx context.Context, o options, nodes []node, px *countingProxy, name string, spread time.Duration, phase int, log *slog.Logger) (phaseResult, error) {
	res := phaseResult{name: name, spread: spread}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	agents := make([]*agent.Agent, len(nodes))
	t0 := time.Now()
	px.reset()
	for i, n := range nodes {
		cfg := n.config(o, px.url, spread)
		up, err := uploader.New(uploader.Options{Endpoint: px.url, Region: "us-east-1", PathStyle: true, AccessKeyID: o.access, SecretAccessKey: o.secret})
		if err != nil {
			return res, err
		}
		a, err := agent.New(cfg, up, quiet)
		if err != nil {
			return res, fmt.Errorf("node %d: %w", i, err)
		}
		if err := a.Start(); err != nil {
			return res, fmt.Errorf("node %d: %w", i, err)
		}
		agents[i] = a
	}
	runCtx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for _, a := range agents {
		wg.Go(func() { a.Run(runCtx) })
	}
	res.startup = time.Since(t0)
	defer func() { stop(); wg.Wait() }()

	// Lines go into windows 1..o.windows after the one running now.
	first := time.Now().Truncate(o.window).Add(o.window)
	for w := 1; w <= o.windows; w++ {
		start := first.Add(time.Duration(w-1) * o.window)
		// Mid-window: an agent the loaded machine lets rotate late still
		// puts the lines in this window.
		if err := sleepUntil(ctx, start.Add(o.window/2)); err != nil {
			return res, err
		}
		for i, a := range agents {
			for l := range o.lines {
				line := fmt.Sprintf("<158>%s haproxy[1]: fleetsim phase=%d node=%d window=%d line=%d\n",
					time.Now().UTC().Format(time.Stamp), phase, nodes[i].i, w, l)
				if err := a.Ingest([]byte(line)); err != nil {
					return res, fmt.Errorf("node %d: ingest: %w", i, err)
				}
			}
		}
		res.windowEnds = append(res.windowEnds, start.Add(o.window).UTC())
		log.Info("lines written", "phase", name, "window", w, "window_end", start.Add(o.window).Format(time.TimeOnly))
	}
	// Every window's upload is due by its end plus the spread.
	last := res.windowEnds[len(res.windowEnds)-1]
	deadline := last.Add(spread + 2*time.Minute)
	if err := sleepUntil(ctx, last.Add(spread)); err != nil {
		return res, err
	}
	for {
		done := 0
		for _, a := range agents {
			if ok, _ := a.UploadStats(); ok >= int64(o.windows) {
				done++
			}
		}
		if done == len(agents) {
			break
		}
		if time.Now().After(deadline) {
			res.incomplete = len(agents) - done
			break
		}
		if err := sleepUntil(ctx, time.Now().Add(250*time.Millisecond)); err != nil {
			return res, err
		}
	}
	// A second of quiet so the last per-second count is whole.
	if err := sleepUntil(ctx, time.Now().Add(time.Second)); err != nil {
		return res, err
	}
	res.counts = px.snapshot()
	for _, a := range agents {
		ok, failed := a.UploadStats()
		res.uploadsOK += ok
		res.uploadsFailed += failed
		res.provisions += a.ProvisionStats()
	}
	return res, nil
}

func sleepUntil(ctx context.Context, t time.Time) error {
	timer := time.NewTimer(time.Until(t))
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return nil
	}
}

// run is the whole simulation: the phases, verification, report, cleanup.
func run(ctx context.Context, o options, log *slog.Logger) error {
	run := randomID()
	dir := o.dir
	if dir == "" {
		var err error
		if dir, err = os.MkdirTemp("", "fleetsim-"); err != nil {
			return err
		}
		defer os.RemoveAll(dir)
	}
	px, err := newCountingProxy(o.endpoint)
	if err != nil {
		return err
	}
	defer px.close()
	nodes := newFleet(o, run, dir)
	store, err := newStoreClient(o)
	if err != nil {
		return err
	}
	if !o.keep {
		defer func() {
			n, err := store.cleanup(context.WithoutCancel(ctx), nodes)
			log.Info("buckets removed", "buckets", n, "err", err)
		}()
	}
	log.Info("fleet", "nodes", o.nodes, "run", run, "window", o.window, "spread", o.spread, "spool", dir)

	var results []phaseResult
	for i, ph := range []struct {
		name   string
		spread time.Duration
	}{
		{"cold start, upload_spread 0", 0},
		{"restart, same settings, upload_spread 0", 0},
		{fmt.Sprintf("restart, same settings, upload_spread %v", o.spread), o.spread},
	} {
		res, err := runPhase(ctx, o, nodes, px, ph.name, ph.spread, i+1, log)
		if err != nil {
			return err
		}
		log.Info("phase done", "phase", ph.name, "puts", res.counts.totalPuts, "provisioning_calls", res.counts.totalProvs)
		results = append(results, res)
	}
	v, err := store.verify(ctx, o, nodes, len(results))
	if err != nil {
		return err
	}
	report(os.Stdout, o, results, v)
	if v.lost+v.duplicated+v.extraObjects+v.missingObjects > 0 {
		return errors.New("windows lost or duplicated: see the report")
	}
	return nil
}

// randomID is 4 hex digits naming this run's buckets.
func randomID() string {
	b := make([]byte, 2)
	rand.Read(b)
	return fmt.Sprintf("%02x%02x", b[0], b[1])
}
