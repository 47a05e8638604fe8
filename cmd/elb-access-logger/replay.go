package main

import (
	"context"
	"fmt"
	"github.com/elb-access-logger/elb-access-logger/agent/config"
	"io"
	"log/slog"
	"os"
	"sort"
	"time"

	"github.com/elb-access-logger/elb-access-logger/agent"
	"github.com/elb-access-logger/elb-access-logger/agent/spool"
	"github.com/elb-access-logger/elb-access-logger/internal/logging"
	"github.com/elb-access-logger/elb-access-logger/uploader"
)

// replayOptions are the flags of a replay run.
type replayOptions struct {
	File   string // "-" is stdin
	DryRun bool
}

// replayIdentityTimeout bounds how long a replay waits for instance
// metadata to complete the identity (the agent itself waits as long as it
// takes).
const replayIdentityTimeout = time.Minute

// runReplay feeds a captured log through parse and encode as one window.
// With DryRun it writes the encoded lines to stdout exactly as they would
// be stored and the plan to stderr, and uploads nothing. Without it the
// window is provisioned and uploaded like a sealed segment, and the plan
// goes to stderr.
func runReplay(ctx context.Context, cfg *config.Config, opts replayOptions, stdin io.Reader, stdout, stderr io.Writer) error {
	in := stdin
	if opts.File != "-" {
		f, err := os.Open(opts.File)
		if err != nil {
			return usageError{fmt.Errorf("replay: %w", err)}
		}
		defer f.Close()
		in = f
	}
	// The identity (and in elb-api mode the destination) as the agent
	// would have it.
	ictx, cancel := context.WithTimeout(ctx, replayIdentityTimeout)
	cfg, err := agent.ReplayConfig(ictx, cfg, replayLogger(cfg, stderr).With("component", "identity"))
	cancel()
	if err != nil {
		return usageError{err}
	}
	in, done := withProgress(in, stderr)
	defer done()
	if !opts.DryRun {
		return replayUpload(ctx, cfg, in, done, stderr)
	}
	plan, err := agent.Replay(cfg, in, stdout, time.Now())
	done()
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "dry run: nothing uploaded\n")
	printPlan(stderr, cfg, plan)
	return nil
}

// replayUpload encodes the replay into a temporary file of the spool
// directory (never /tmp: a big replay must not fill a RAM disk) and uploads
// it as one window's object, with the window's counts as its metadata. It
// returns nil only once the store acknowledged the object; readDone is
// called when the input has been read.
func replayUpload(ctx context.Context, cfg *config.Config, in io.Reader, readDone func(), stderr io.Writer) error {
	if err := os.MkdirAll(cfg.SpoolDir, 0o750); err != nil {
		return fmt.Errorf("replay: %w", err)
	}
	f, err := os.CreateTemp(cfg.SpoolDir, ".replay-*.tmp")
	if err != nil {
		return fmt.Errorf("replay: %w", err)
	}
	defer os.Remove(f.Name())
	defer f.Close()
	plan, err := agent.Replay(cfg, in, f, time.Now())
	readDone()
	if err != nil {
		return err
	}
	if plan.BucketErr != nil {
		return usageError{plan.BucketErr}
	}
	if plan.KeyErr != nil {
		return usageError{plan.KeyErr}
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("replay: %w", err)
	}
	up, err := newUploader(cfg, replayLogger(cfg, stderr))
	if err != nil {
		return usageError{err}
	}
	if err := up.Provision(ctx, plan.Spec); err != nil {
		return fmt.Errorf("replay: %w", err)
	}
	counts := spool.WindowCounts{Lines: int64(plan.Lines), Unparsed: int64(plan.Unparsed), Truncated: int64(plan.Truncated)}
	obj := uploader.Object{Bucket: plan.Bucket, Key: plan.Key, Body: f, Size: plan.Bytes, OwnerAccount: plan.Owner,
		OwnerGrantee: plan.Spec.OwnerGrantee, Metadata: counts.Metadata()}
	if err := up.Put(ctx, obj); err != nil {
		return fmt.Errorf("replay: %w", err)
	}
	fmt.Fprintf(stderr, "uploaded\n")
	printPlan(stderr, cfg, plan)
	return nil
}

// printPlan writes what a replay stores and where.
func printPlan(stderr io.Writer, cfg *config.Config, plan *agent.ReplayPlan) {
	bucket := plan.Bucket
	if plan.BucketErr != nil {
		bucket = "(unknown: " + plan.BucketErr.Error() + ")"
	}
	owner := plan.Owner
	if owner == "" {
		owner = "(unknown: set access_log.owner_account)"
	}
	if plan.Spec.OwnerGrantee != "" {
		owner = plan.Spec.OwnerGrantee
	}
	key := plan.Key
	if plan.KeyErr != nil {
		key = "(unknown: " + plan.KeyErr.Error() + ")"
	}
	if plan.Spec.UserOwned {
		fmt.Fprintf(stderr, "bucket: %s (the load balancer owner's, from the ELB API's AccessLog attribute: never created, its ACL left alone)\n", bucket)
	} else {
		fmt.Fprintf(stderr, "bucket: %s (create if missing; refused unless the uploader's account owns it; bucket ACL: FULL_CONTROL for the uploader, READ for %s)\n", bucket, owner)
	}
	fmt.Fprintf(stderr, "lifecycle: %s\n", lifecyclePlan(cfg))
	fmt.Fprintf(stderr, "storage: %s\n", cfg.Storage())
	fmt.Fprintf(stderr, "preflight: write and read back %s\n", uploader.TestFileKey(plan.Spec.Prefix, plan.Owner))
	fmt.Fprintf(stderr, "object: %s (a replay's own key, never a window's of the agent; window ending %s; grants: READ id=%s, FULL_CONTROL for the uploader)\n", key, plan.WindowEnd.Format(time.RFC3339), owner)
	fmt.Fprintf(stderr, "format: %s; lines: %d; bytes: %d; unparsed (kept raw): %d; truncated: %d\n", cfg.Format, plan.Lines, plan.Bytes, plan.Unparsed, plan.Truncated)
	names := make([]string, 0, len(plan.Formats))
	for n := range plan.Formats {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(stderr, "  %s: %d\n", n, plan.Formats[n])
	}
}

// lifecyclePlan says which lifecycle rule the agent manages on its bucket,
// on which prefix, and what it does, for the dry-run plan and
// --check-config.
func lifecyclePlan(cfg *config.Config) string {
	if cfg.UserBucket {
		return "none managed (the load balancer owner's bucket: its lifecycle is left alone)"
	}
	b := uploader.Bucket{KeyLayout: cfg.KeyLayout, Prefix: cfg.KeyPrefix}
	if cfg.LifecycleDays > 0 {
		return fmt.Sprintf("rule %s expires the objects under prefix %q after %d days, and their incomplete multipart uploads after a day (other objects and rules kept)", uploader.LifecycleRuleID, b.LifecyclePrefix(), cfg.LifecycleDays)
	}
	return fmt.Sprintf("remove rule %s if present (other rules kept)", uploader.LifecycleRuleID)
}

// replayLogger writes to stderr in the file's log.level and log.format,
// as the agent does.
func replayLogger(cfg *config.Config, stderr io.Writer) *slog.Logger {
	logs, err := logging.New(stderr, cfg.LogLevel, cfg.LogFormat)
	if err != nil { // config checked both: not reached
		return slog.New(slog.NewTextHandler(stderr, nil))
	}
	return logs.Logger()
}
