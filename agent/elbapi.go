package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/elb-access-logger/elb-access-logger/agent/config"
	"github.com/elb-access-logger/elb-access-logger/agent/ship"
	"github.com/elb-access-logger/elb-access-logger/agent/spool"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancing"
	"github.com/elb-access-logger/elb-access-logger/uploader"
)

// AccessLog is a load balancer's AccessLog attribute as the ELB API
// (DescribeLoadBalancerAttributes) gives it.
type AccessLog struct {
	Enabled      bool   `json:"enabled"`
	Bucket       string `json:"s3_bucket_name"`
	Prefix       string `json:"s3_bucket_prefix"`
	EmitInterval int    `json:"emit_interval"` // minutes
}

// check refuses an attribute the agent cannot follow: an enabled one
// without a valid bucket, a prefix containing AWSLogs, an interval outside
// 5..60 minutes (AWS allows 5 and 60, Eucalyptus anything between).
func (l AccessLog) check(naming string) error {
	if !l.Enabled {
		return nil
	}
	if err := uploader.ValidateBucketName(l.Bucket, naming); err != nil {
		return fmt.Errorf("S3BucketName: %w", err)
	}
	if err := config.CheckKeyPrefix(l.Prefix); err != nil {
		return fmt.Errorf("S3BucketPrefix %q: %w", l.Prefix, err)
	}
	if l.EmitInterval < 5 || l.EmitInterval > 60 {
		return fmt.Errorf("EmitInterval %d: must be from 5 to 60 minutes", l.EmitInterval)
	}
	return nil
}

// AccessLogSource reads the AccessLog attribute of the load balancer
// named lbName. ELBClient is one.
type AccessLogSource interface {
	AccessLog(ctx context.Context, lbName string) (AccessLog, error)
}

// ELBClient reads the AccessLog attribute with the ELB API's
// DescribeLoadBalancerAttributes (AWS Classic ELB, Eucalyptus 4.2+).
type ELBClient struct {
	c *elasticloadbalancing.Client
}

var _ AccessLogSource = (*ELBClient)(nil)

// NewELBClient returns a client for the ELB API at endpoint (empty: AWS's
// of region), signing with creds; hc nil means the SDK's default client.
func NewELBClient(endpoint, region string, creds aws.CredentialsProvider, hc *http.Client) *ELBClient {
	o := elasticloadbalancing.Options{Region: region, Credentials: creds, RetryMaxAttempts: 1}
	if hc != nil {
		o.HTTPClient = hc // a nil *http.Client in the interface would not be nil
	}
	if endpoint != "" {
		o.BaseEndpoint = aws.String(endpoint)
	}
	return &ELBClient{c: elasticloadbalancing.New(o)}
}

// AccessLog returns the load balancer's AccessLog attribute. A load
// balancer without one has logging disabled.
func (e *ELBClient) AccessLog(ctx context.Context, lbName string) (AccessLog, error) {
	out, err := e.c.DescribeLoadBalancerAttributes(ctx, &elasticloadbalancing.DescribeLoadBalancerAttributesInput{
		LoadBalancerName: aws.String(lbName),
	})
	if err != nil {
		return AccessLog{}, fmt.Errorf("elb api: describe load balancer attributes of %s: %w", lbName, err)
	}
	var l AccessLog
	if out.LoadBalancerAttributes != nil && out.LoadBalancerAttributes.AccessLog != nil {
		al := out.LoadBalancerAttributes.AccessLog
		l = AccessLog{
			Enabled:      al.Enabled,
			Bucket:       aws.ToString(al.S3BucketName),
			Prefix:       strings.Trim(aws.ToString(al.S3BucketPrefix), "/"),
			EmitInterval: int(aws.ToInt32(al.EmitInterval)),
		}
	}
	if l.EmitInterval == 0 {
		l.EmitInterval = 60 // AWS's default when unset
	}
	return l, nil
}

// elbStateFile in the spool directory keeps the last known attribute (so
// a restart while the ELB API is unreachable keeps following it). Versions
// before ship.PinsFile kept the pins of sealed segments in it too; the
// Shipper moves them out, and a save drops them.
const elbStateFile = ship.LegacyStateFile

type elbStateData struct {
	AccessLog *AccessLog `json:"access_log,omitempty"`
}

// elbState is the agent's part of elb-api mode.
type elbState struct {
	src  AccessLogSource
	base atomic.Pointer[config.Config] // the property file's configuration

	mu   sync.Mutex // guards attr and the state file
	attr *AccessLog // nil: not known yet (logging stays off)

	polls, pollErrors, rejected, changes atomic.Int64
}

// ELBStats counts ELB API polls: answered, failed (the last known
// attribute stays in force), attributes refused as invalid, and changes
// applied.
type ELBStats struct {
	Polls, PollErrors, Rejected, Changes int64
}

// ELBStats returns the counters of elb-api mode, for metrics.
func (a *Agent) ELBStats() ELBStats {
	e := &a.elb
	return ELBStats{e.polls.Load(), e.pollErrors.Load(), e.rejected.Load(), e.changes.Load()}
}

// SetAccessLogSource sets where elb-api mode reads the AccessLog
// attribute. Call it before Run.
func (a *Agent) SetAccessLogSource(src AccessLogSource) { a.elb.src = src }

// loadELBState reads the state file of dir; a missing file is an empty
// state. It changes nothing: temporary files of an interrupted write are
// removed by spool.Open, once the spool directory is locked.
func loadELBState(fsys spool.FS, dir string) (elbStateData, error) {
	var st elbStateData
	path := filepath.Join(dir, elbStateFile)
	data, err := spool.ReadFile(fsys, dir, elbStateFile)
	if errors.Is(err, os.ErrNotExist) {
		return st, nil
	}
	if err != nil {
		return st, fmt.Errorf("read %s: %w", path, err)
	}
	if err := json.Unmarshal(data, &st); err != nil {
		return elbStateData{}, fmt.Errorf("parse %s: %w", path, err)
	}
	return st, nil
}

// initELB prepares elb-api mode in New: it loads the state kept in the
// spool directory and returns the effective configuration.
func (a *Agent) initELB(cfg *config.Config) *config.Config {
	a.elb.base.Store(cfg)
	if cfg.Source != config.SourceELBAPI {
		return cfg
	}
	st, err := loadELBState(a.filesys(), cfg.SpoolDir)
	if err != nil {
		a.log.Error("elb api: state of an earlier run not readable; logging stays off until the ELB API answers", "err", err)
	}
	if st.AccessLog != nil && st.AccessLog.check(cfg.BucketNaming) == nil {
		a.elb.attr = st.AccessLog
		a.log.Info("elb api: last known AccessLog attribute in force until the ELB API answers", "enabled", st.AccessLog.Enabled,
			"bucket", st.AccessLog.Bucket, "prefix", st.AccessLog.Prefix, "emit_interval", st.AccessLog.EmitInterval)
	}
	return effectiveConfig(cfg, a.elb.attr)
}

// effectiveConfig is base with what the attribute decides in elb-api mode:
// enabled, the user's bucket (literal), the prefix, the aws key layout and
// the emit interval (a schedule set in the file still wins). An unknown
// attribute (nil) keeps logging off.
func effectiveConfig(base *config.Config, attr *AccessLog) *config.Config {
	if base.Source != config.SourceELBAPI {
		return base
	}
	l := AccessLog{}
	if attr != nil {
		l = *attr
	}
	return base.WithAccessLog(l.Enabled, l.Bucket, l.Prefix, l.EmitInterval)
}

// switchLive publishes next and hands it to the Shipper, which seals the
// open window and pins the segments sealed so far when the destination
// changes (ship.Shipper.SetTarget).
func (a *Agent) switchLive(next *liveConfig) {
	a.storeLive(next)
	if a.ship != nil {
		a.ship.SetTarget(next.cfg)
	}
}

// saveELBStateLocked writes the state file atomically. Call it with
// elb.mu held. A failure is logged: the state in memory stays in force.
func (a *Agent) saveELBStateLocked() {
	dir := a.Config().SpoolDir
	data, err := json.MarshalIndent(elbStateData{AccessLog: a.elb.attr}, "", "  ")
	if err == nil {
		err = spool.WriteFileAtomic(a.filesys(), dir, elbStateFile, data)
	}
	if err != nil {
		a.log.Error("elb api: cannot save the state in the spool directory", "err", err)
	}
}

// followELB polls the AccessLog attribute every elb.poll_interval while
// access_log.source is elb-api, and applies each change through the
// reload path. Errors keep the last known attribute in force and are
// retried with backoff, up to the poll interval.
func (a *Agent) followELB(ctx context.Context) {
	failures := 0
	var lastErr string
	for {
		base := a.elb.base.Load()
		wait := base.ELBPollInterval
		if base.Source == config.SourceELBAPI {
			if err := a.pollELB(ctx, base); err != nil {
				if ctx.Err() != nil {
					return
				}
				failures++
				a.elb.pollErrors.Add(1)
				a.obs.events.Failed("elb_api_poll", a.now(), err)
				wait = min(a.backoff.Delay(failures), base.ELBPollInterval)
				if msg := err.Error(); msg != lastErr {
					lastErr = msg
					a.log.Warn("elb api unavailable; the last known AccessLog attribute stays in force", "err", err, "retry_in", wait.String())
				}
			} else {
				if failures > 0 {
					a.log.Info("elb api answers again")
				}
				failures, lastErr = 0, ""
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait + rand.N(wait/10+1)):
		}
	}
}

// elbPollTimeout bounds one DescribeLoadBalancerAttributes call: a
// control plane that accepts the connection and never answers must not
// stop the polls.
const elbPollTimeout = 30 * time.Second

// errNoLBName is returned while the load balancer's name is not known.
var errNoLBName = errors.New("the load balancer's name is not known yet (access_log.lb_name or instance metadata)")

// pollELB reads the attribute once and applies it when it changed.
func (a *Agent) pollELB(ctx context.Context, base *config.Config) error {
	if a.elb.src == nil {
		return errors.New("no ELB API client")
	}
	name := a.lbName(base)
	if name == "" {
		return errNoLBName
	}
	pctx, cancel := context.WithTimeout(ctx, elbPollTimeout)
	got, err := a.elb.src.AccessLog(pctx, name)
	cancel()
	if err != nil {
		return err
	}
	a.elb.polls.Add(1)
	if err := got.check(base.BucketNaming); err != nil {
		a.elb.rejected.Add(1)
		a.log.Error("elb api: AccessLog attribute refused; the last known one stays in force", "lb_name", name, "err", err)
		return nil
	}
	a.elb.mu.Lock()
	same := a.elb.attr != nil && *a.elb.attr == got
	a.elb.mu.Unlock()
	if same {
		return nil
	}
	return a.applyAccessLog(got)
}

// applyAccessLog makes attr the one in force: persisted first, so a
// restart keeps following it, then applied like a reload.
func (a *Agent) applyAccessLog(attr AccessLog) error {
	a.elb.mu.Lock()
	a.elb.attr = &attr
	a.saveELBStateLocked()
	a.elb.mu.Unlock()
	if err := a.reload(a.elb.base.Load()); err != nil {
		return fmt.Errorf("apply AccessLog attribute: %w", err)
	}
	a.elb.changes.Add(1)
	a.log.Info("elb api: AccessLog attribute applied", "enabled", attr.Enabled, "bucket", attr.Bucket,
		"prefix", attr.Prefix, "emit_interval", attr.EmitInterval)
	return nil
}

// derive returns the effective configuration of a newly loaded file and
// remembers the file's configuration for later attribute changes.
func (a *Agent) derive(file *config.Config) *config.Config {
	a.elb.base.Store(file)
	a.elb.mu.Lock()
	defer a.elb.mu.Unlock()
	return effectiveConfig(file, a.elb.attr)
}

// filesys is the spool's filesystem seam.
func (a *Agent) filesys() spool.FS {
	if a.fs == nil {
		return spool.OSFS{}
	}
	return a.fs
}
