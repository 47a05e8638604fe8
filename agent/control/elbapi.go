package control

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancing"
	"github.com/elb-access-logger/elb-access-logger/agent/config"
	"github.com/elb-access-logger/elb-access-logger/agent/ship"
	"github.com/elb-access-logger/elb-access-logger/agent/spool"
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
// Shipper moves them out, and a save here drops them.
const elbStateFile = ship.LegacyStateFile

type elbStateData struct {
	AccessLog *AccessLog `json:"access_log,omitempty"`
}

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

// saveELBState writes the state file atomically. A failure is logged: the
// state in memory stays in force.
func (c *Controller) saveELBState() {
	data, err := json.MarshalIndent(elbStateData{AccessLog: c.attr}, "", "  ")
	if err == nil {
		err = spool.WriteFileAtomic(c.fs, c.base.SpoolDir, elbStateFile, data)
	}
	if err != nil {
		c.log.Error("elb api: cannot save the state in the spool directory", "err", err)
	}
}

// initELB prepares elb-api mode in New: it loads the state kept in the
// spool directory and returns the effective configuration.
func (c *Controller) initELB(cfg *config.Config) *config.Config {
	if cfg.Source != config.SourceELBAPI {
		return cfg
	}
	st, err := loadELBState(c.fs, cfg.SpoolDir)
	if err != nil {
		c.log.Error("elb api: state of an earlier run not readable; logging stays off until the ELB API answers", "err", err)
	}
	if st.AccessLog != nil && st.AccessLog.check(cfg.BucketNaming) == nil {
		c.attr = st.AccessLog
		c.log.Info("elb api: last known AccessLog attribute in force until the ELB API answers", "enabled", st.AccessLog.Enabled,
			"bucket", st.AccessLog.Bucket, "prefix", st.AccessLog.Prefix, "emit_interval", st.AccessLog.EmitInterval)
	}
	return effectiveConfig(cfg, c.attr)
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

// derive returns the effective configuration of a newly loaded file and
// remembers the file's configuration for later attribute changes.
func (c *Controller) derive(file *config.Config) *config.Config {
	c.base = file
	return effectiveConfig(file, c.attr)
}

// pollRequest is an attribute the poller read, for Run's goroutine.
type pollRequest struct {
	attr AccessLog
	name string // of the load balancer
	done chan error
}

// pollLoop polls the AccessLog attribute every elb.poll_interval while
// access_log.source is elb-api, and hands each answer to Run's goroutine,
// which applies a change through the reload path. Errors keep the last
// known attribute in force and are retried with backoff, up to the poll
// interval.
func (c *Controller) pollLoop(ctx context.Context) {
	failures := 0
	var lastErr string
	for {
		live := c.Live()
		cfg := live.Config // elb.poll_interval and access_log.source are the file's
		wait := cfg.ELBPollInterval
		if cfg.Source == config.SourceELBAPI {
			if err := c.poll(ctx, live); err != nil {
				if ctx.Err() != nil {
					return
				}
				failures++
				c.elbErrors.Add(1)
				c.events.Failed("elb_api_poll", c.now(), err)
				wait = c.backoffDelay(failures, cfg.ELBPollInterval)
				if msg := err.Error(); msg != lastErr {
					lastErr = msg
					c.log.Warn("elb api unavailable; the last known AccessLog attribute stays in force", "err", err, "retry_in", wait.String())
				}
			} else {
				if failures > 0 {
					c.log.Info("elb api answers again")
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

// poll reads the attribute once and has Run's goroutine apply it.
func (c *Controller) poll(ctx context.Context, live *Live) error {
	name := live.LBName()
	if name == "" {
		return errNoLBName
	}
	pctx, cancel := context.WithTimeout(ctx, elbPollTimeout)
	got, err := c.src.AccessLog(pctx, name)
	cancel()
	if err != nil {
		return err
	}
	c.elbPolls.Add(1)
	p := pollRequest{attr: got, name: name, done: make(chan error, 1)}
	select {
	case c.polls <- p:
	case <-ctx.Done():
		return ctx.Err()
	}
	return <-p.done // answered at once by Run's goroutine
}

// applyPoll applies an attribute the poller read, when it is valid and
// changed.
func (c *Controller) applyPoll(p pollRequest) error {
	if err := p.attr.check(c.base.BucketNaming); err != nil {
		c.elbRejected.Add(1)
		c.log.Error("elb api: AccessLog attribute refused; the last known one stays in force", "lb_name", p.name, "err", err)
		return nil
	}
	if c.attr != nil && *c.attr == p.attr {
		return nil
	}
	return c.applyAccessLog(p.attr)
}

// applyAccessLog makes attr the one in force: persisted first, so a
// restart keeps following it, then applied like a reload.
func (c *Controller) applyAccessLog(attr AccessLog) error {
	c.attr = &attr
	c.saveELBState()
	if err := c.reload(c.base); err != nil {
		return fmt.Errorf("apply AccessLog attribute: %w", err)
	}
	c.elbChanges.Add(1)
	c.log.Info("elb api: AccessLog attribute applied", "enabled", attr.Enabled, "bucket", attr.Bucket,
		"prefix", attr.Prefix, "emit_interval", attr.EmitInterval)
	return nil
}

// StoredConfig returns cfg as the last AccessLog attribute kept in its
// spool directory makes it in elb-api mode (cfg itself in properties
// mode), for a replay. It fails when no enabled, valid attribute is kept.
func StoredConfig(cfg *config.Config) (*config.Config, error) {
	if cfg.Source != config.SourceELBAPI {
		return cfg, nil
	}
	st, err := loadELBState(nil, cfg.SpoolDir)
	if err != nil {
		return nil, err
	}
	if st.AccessLog == nil || !st.AccessLog.Enabled || st.AccessLog.check(cfg.BucketNaming) != nil {
		return nil, fmt.Errorf("access_log.source = elb-api, but no enabled AccessLog attribute is known in %s (the agent keeps the last one it read there)", cfg.SpoolDir)
	}
	return effectiveConfig(cfg, st.AccessLog), nil
}
