package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"time"

	"github.com/elb-access-logger/elb-access-logger/agent"
	"github.com/elb-access-logger/elb-access-logger/uploader"
)

// replayOptions are the flags of a replay run.
type replayOptions struct {
	File   string // "-" is stdin
	DryRun bool
}

// runReplay feeds a captured log through parse and encode. With DryRun it
// writes the encoded lines to stdout exactly as they would be stored and
// the plan to stderr, and uploads nothing.
func runReplay(cfg *agent.Config, opts replayOptions, stdin io.Reader, stdout, stderr io.Writer) error {
	if !opts.DryRun {
		return usageError{errors.New("--replay uploads only with the running agent's spool for now: add --dry-run")}
	}
	in := stdin
	if opts.File != "-" {
		f, err := os.Open(opts.File)
		if err != nil {
			return usageError{fmt.Errorf("replay: %w", err)}
		}
		defer f.Close()
		in = f
	}
	plan, err := agent.Replay(cfg, in, stdout, time.Now())
	if err != nil {
		return err
	}
	bucket := plan.Bucket
	if plan.BucketErr != nil {
		bucket = "(unknown: " + plan.BucketErr.Error() + ")"
	}
	owner := plan.Owner
	if owner == "" {
		owner = "(unknown: set access_log.owner_account)"
	}
	fmt.Fprintf(stderr, "dry run: nothing uploaded\n")
	fmt.Fprintf(stderr, "bucket: %s (create if missing; bucket ACL: FULL_CONTROL for the uploader, READ for %s)\n", bucket, owner)
	if cfg.LifecycleDays > 0 {
		fmt.Fprintf(stderr, "lifecycle: rule %s expires every object after %d days\n", uploader.LifecycleRuleID, cfg.LifecycleDays)
	} else {
		fmt.Fprintf(stderr, "lifecycle: remove rule %s\n", uploader.LifecycleRuleID)
	}
	fmt.Fprintf(stderr, "preflight: write and read back %s\n", uploader.TestFileKey("", plan.Owner))
	fmt.Fprintf(stderr, "object: %s (window ending %s; grants: READ id=%s, FULL_CONTROL for the uploader)\n", plan.Key, plan.WindowEnd.Format(time.RFC3339), owner)
	fmt.Fprintf(stderr, "format: %s; lines: %d; bytes: %d; unparsed (kept raw): %d; truncated: %d\n", cfg.Format, plan.Lines, plan.Bytes, plan.Unparsed, plan.Truncated)
	names := make([]string, 0, len(plan.Formats))
	for n := range plan.Formats {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(stderr, "  %s: %d\n", n, plan.Formats[n])
	}
	return nil
}
