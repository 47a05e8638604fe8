package agent

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"github.com/elb-access-logger/elb-access-logger/agent/config"
	"github.com/elb-access-logger/elb-access-logger/agent/control"
	"github.com/elb-access-logger/elb-access-logger/agent/identity"
	"github.com/elb-access-logger/elb-access-logger/agent/ingest"
	"io"
	"log/slog"
	"time"

	"github.com/elb-access-logger/elb-access-logger/parser"
	"github.com/elb-access-logger/elb-access-logger/uploader"
)

// ReplayPlan is what a replay would store and upload: one window.
type ReplayPlan struct {
	Bucket    string          // empty when the identity cannot name it
	BucketErr error           // why Bucket is empty
	Spec      uploader.Bucket // what provisioning would make of the bucket
	Key       string          // the replay's own key (ReplayKey); empty when KeyErr
	KeyErr    error           // why Key is empty
	Owner     string          // the LB owner's account, grantee of READ
	WindowEnd time.Time
	Lines     int // lines written
	Bytes     int64
	Unparsed  int // lines of no known format, written raw
	Truncated int // lines HAProxy cut short
	Formats   map[string]int
}

// Replay reads a captured log from in (syslog lines as a file writer
// stores them or as datagrams, or bare HAProxy bodies; one per line), runs
// every line through the agent's parse and encode pipeline and writes the
// encoded lines to out exactly as they would be stored. It returns the plan
// of the single window the lines would form. Empty lines are skipped.
func Replay(cfg *config.Config, in io.Reader, out io.Writer, now time.Time) (*ReplayPlan, error) {
	sched, err := config.WindowSchedule(cfg)
	if err != nil {
		return nil, err
	}
	id := cfg.Identity()
	plan := &ReplayPlan{Owner: id.Account, WindowEnd: config.NextWindowEnd(sched, now), Formats: map[string]int{}}
	if plan.Bucket, err = identity.ExpandTemplate(cfg.Bucket, id); err != nil {
		plan.BucketErr = fmt.Errorf("access_log.bucket: %w", err)
	}
	plan.Spec = uploader.Bucket{Name: plan.Bucket, OwnerAccount: id.Account, LifecycleDays: cfg.LifecycleDays, LBName: id.LBName,
		KeyLayout: cfg.KeyLayout, UserOwned: cfg.UserBucket, OwnerGrantee: cfg.OwnerCanonicalID}
	if cfg.UserBucket || cfg.KeyLayout == uploader.KeyLayoutAWS {
		plan.Spec.Prefix = cfg.KeyPrefix
	}
	sum := sha256.New()

	bw := bufio.NewWriter(out)
	// The agent's own pipeline, writing into bw instead of the spool.
	pipe, err := ingest.New(&replaySink{w: bw, plan: plan}, ingest.Options{MaxMessageBytes: cfg.MaxMessageBytes,
		Format: cfg.Format, LBName: id.LBName, Enabled: true})
	if err != nil {
		return nil, err
	}
	br := bufio.NewReaderSize(in, 64*1024)
	for n := 1; ; n++ {
		raw, err := readLine(br, cfg.MaxMessageBytes)
		if err != nil && !errors.Is(err, io.EOF) {
			return plan, fmt.Errorf("replay: line %d: %w", n, err)
		}
		sum.Write(raw)
		if werr := pipe.Ingest(raw); werr != nil {
			return plan, werr
		}
		if err != nil {
			break
		}
	}
	for f, n := range pipe.Stats().Lines {
		if n > 0 {
			plan.Formats[parser.Format(f).String()] = int(n)
		}
	}
	if err := bw.Flush(); err != nil {
		return plan, fmt.Errorf("replay: write: %w", err)
	}
	plan.Key, plan.KeyErr = replayKey(cfg, id, plan.WindowEnd, hex.EncodeToString(sum.Sum(nil))[:16])
	return plan, nil
}

// replayKey is the key a replay uploads under: never one the running agent
// writes (it names no window of the agent's), the same for the same
// capture, in the configured layout and prefix. Seed layout:
// elb-access-replay-{digest}.log; aws layout: the window's aws key whose
// random part is replay-{digest}. digest is of the capture's lines as
// read (the encoded lines may carry the time of the replay).
func replayKey(cfg *config.Config, id identity.Identity, end time.Time, digest string) (string, error) {
	if cfg.KeyLayout != uploader.KeyLayoutAWS {
		return "elb-access-replay-" + digest + ".log", nil
	}
	for _, f := range []struct{ name, v string }{
		{"account", id.Account}, {"region", id.Region}, {"lb_name", id.LBName}, {"node ip", id.PublicIPv4},
	} {
		if f.v == "" {
			return "", fmt.Errorf("access_log.key_layout aws: the %s of this node is not known", f.name)
		}
	}
	return uploader.AWSKey(uploader.AWSKeyParams{Prefix: cfg.KeyPrefix, Account: id.Account, Region: id.Region,
		LBName: id.LBName, End: end, NodeIP: id.PublicIPv4, Random: "replay-" + digest}), nil
}

// ReplayConfig returns the configuration a replay runs with, decided as
// the agent decides it at start: in elb-api mode the last AccessLog
// attribute the agent read (kept in spool.dir) gives the owner's bucket,
// prefix and aws layout; the identity is the property file's, completed
// from instance metadata by the agent's own Resolver when metadata.endpoint
// is set and the file leaves it incomplete, bounded by ctx.
func ReplayConfig(ctx context.Context, cfg *config.Config, log *slog.Logger) (*config.Config, error) {
	eff, err := control.StoredConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("replay: %w", err)
	}
	var src identity.Source
	if eff.MetadataEndpoint != "" {
		src = identity.NewMetadataClient(eff.MetadataEndpoint, eff.MetadataTimeout)
	}
	got := make(chan identity.Identity, 1)
	r := identity.NewResolver(src, eff.MetadataTimeout, log, func(id identity.Identity, _ bool) { got <- id })
	rctx, cancel := context.WithCancel(ctx)
	defer func() { cancel(); r.Wait() }()
	r.Resolve(rctx, eff.Identity(), eff.Bucket)
	select {
	case id := <-got:
		return eff.WithIdentity(id), nil
	case <-ctx.Done():
		return nil, fmt.Errorf("replay: identity from instance metadata (%s): %w", eff.MetadataEndpoint, ctx.Err())
	}
}

// replaySink writes the replayed lines to w, as they would be stored, and
// counts them into plan.
type replaySink struct {
	w    io.Writer
	plan *ReplayPlan
}

func (s *replaySink) AppendCounted(line []byte, unparsed, truncated bool) error {
	if _, err := s.w.Write(line); err != nil {
		return fmt.Errorf("replay: write: %w", err)
	}
	s.plan.Lines++
	s.plan.Bytes += int64(len(line))
	if unparsed {
		s.plan.Unparsed++
	}
	if truncated {
		s.plan.Truncated++
	}
	return nil
}

// readLine returns the next line, newline included; a line longer than
// limit bytes is cut to limit, as the listener cuts a datagram. It returns
// io.EOF with the last line.
func readLine(br *bufio.Reader, limit int) ([]byte, error) {
	var out []byte
	for {
		chunk, err := br.ReadSlice('\n')
		if len(out)+len(chunk) <= limit {
			out = append(out, chunk...)
		} else if len(out) < limit {
			out = append(out, chunk[:limit-len(out)]...)
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		return out, err
	}
}
