package main

import (
	"context"
	"fmt"
	"github.com/elb-access-logger/elb-access-logger/agent/config"
	"github.com/elb-access-logger/elb-access-logger/agent/identity"
	"github.com/elb-access-logger/elb-access-logger/agent/ingest"
	"io"
	"log/slog"
	"os"
	"text/tabwriter"
	"time"
)

// checkMetadataTimeout bounds the one metadata lookup of --check-config: a
// check must answer quickly on a machine without a metadata service.
const checkMetadataTimeout = 3 * time.Second

// runCheckConfig validates the configuration the agent would run with and
// prints it, each key with where its value comes from (default, file,
// servo.conf, metadata), secrets masked. An invalid configuration is a
// usageError (exit 2) listing every problem as FILE:LINE: KEY: message.
// Metadata that does not answer is reported but is no error: the running
// agent retries it.
func runCheckConfig(ctx context.Context, path string, explicit bool, stdout io.Writer) error {
	cfg, err := config.LoadConfig(path, explicit)
	if err != nil {
		return usageError{err}
	}
	if _, err := newAgent(cfg, slog.New(slog.NewTextHandler(io.Discard, nil))); err != nil {
		return usageError{err}
	}
	status := "valid"
	if _, err := os.Stat(path); err != nil && !explicit {
		status = "no file, embedded defaults"
	}
	fmt.Fprintf(stdout, "# %s: %s\n", path, status)
	for _, w := range cfg.Warnings() {
		fmt.Fprintf(stdout, "# warning: %s\n", w)
	}
	if cfg.MetadataEndpoint != "" {
		timeout := min(cfg.MetadataTimeout, checkMetadataTimeout)
		mctx, cancel := context.WithTimeout(ctx, timeout)
		id, err := identity.NewMetadataClient(cfg.MetadataEndpoint, timeout).Fill(mctx, cfg.Identity())
		cancel()
		if err != nil {
			fmt.Fprintf(stdout, "# metadata %s did not answer (the agent retries it; uploads wait for it): %v\n", cfg.MetadataEndpoint, err)
		} else {
			cfg = cfg.WithIdentity(id)
		}
	}
	fmt.Fprintf(stdout, "# lifecycle: %s\n", lifecyclePlan(cfg))
	fmt.Fprintf(stdout, "# storage: %s\n", cfg.Storage())
	for _, l := range cfg.Listen {
		what, warning := ingest.Describe(l)
		fmt.Fprintf(stdout, "# listener %s: %s\n", l, what)
		if warning != "" {
			fmt.Fprintf(stdout, "# warning: listener %s: %s\n", l, warning)
		}
	}
	tw := tabwriter.NewWriter(stdout, 0, 8, 2, ' ', 0)
	for _, s := range cfg.Settings() {
		fmt.Fprintf(tw, "%s = %s\t# %s\n", s.Key, s.Value, s.Origin)
	}
	return tw.Flush()
}
