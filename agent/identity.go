package agent

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"time"
)

// Identity names this load-balancer node: whose logs these are and where
// they go. Values come from the property file overrides; instance metadata
// fills in the rest (see the configuration issue).
type Identity struct {
	Account    string // the load balancer owner's account id
	LBName     string
	PublicIPv4 string
	InstanceID string // i-315dd646
	Region     string
}

// InstanceNum is the part of the instance id after "i-".
func (id Identity) InstanceNum() string {
	return strings.TrimPrefix(id.InstanceID, "i-")
}

// identityFromConfig takes the identity overrides of the property file.
func identityFromConfig(c *Config) Identity {
	return Identity{
		Account:    c.OwnerAccount,
		LBName:     c.LBName,
		PublicIPv4: c.NodeIP,
		InstanceID: c.InstanceID,
		Region:     c.Region,
	}
}

// expandTemplate fills the {placeholders} of a bucket template.
func expandTemplate(tmpl string, id Identity) (string, error) {
	values := map[string]string{
		"lb_name":      id.LBName,
		"public_ipv4":  id.PublicIPv4,
		"instance_num": id.InstanceNum(),
		"account":      id.Account,
		"region":       id.Region,
	}
	var b strings.Builder
	rest := tmpl
	for {
		i := strings.IndexByte(rest, '{')
		if i < 0 {
			if strings.IndexByte(rest, '}') >= 0 {
				return "", fmt.Errorf("template %q: unmatched '}'", tmpl)
			}
			b.WriteString(rest)
			return b.String(), nil
		}
		j := strings.IndexByte(rest[i:], '}')
		if j < 0 {
			return "", fmt.Errorf("template %q: unmatched '{'", tmpl)
		}
		name := rest[i+1 : i+j]
		v, ok := values[name]
		if !ok {
			return "", fmt.Errorf("template %q: unknown placeholder {%s} (known: lb_name, public_ipv4, instance_num, account, region)", tmpl, name)
		}
		if v == "" {
			return "", fmt.Errorf("template %q: {%s} is not known for this node", tmpl, name)
		}
		b.WriteString(rest[:i])
		b.WriteString(v)
		rest = rest[i+j+1:]
	}
}

// IdentitySource completes an identity: it fills the empty fields of id
// and keeps the others. MetadataClient is one.
type IdentitySource interface {
	Fill(ctx context.Context, id Identity) (Identity, error)
}

// identityState hands the resolved identity from resolveIdentity (and
// reloads) to upload rounds.
type identityState struct {
	mu          sync.Mutex
	latest      Identity
	ready       bool // latest is complete; uploads may go
	gen         int  // bumped by every new resolution; older ones stop
	reprovision bool // settings of the bucket changed
	waitLogged  bool
}

// identityComplete reports whether id says whose logs these are and names
// the bucket: the owner account (grantee of READ) and every placeholder of
// the bucket template must be known.
func identityComplete(id Identity, bucketTemplate string) bool {
	if id.Account == "" {
		return false
	}
	_, err := expandTemplate(bucketTemplate, id)
	return err == nil
}

// Identity backoff: the first retry after identityRetryMin, doubling to
// identityRetryMax, each with up to 50% jitter.
const (
	identityRetryMin = time.Second
	identityRetryMax = 5 * time.Minute
)

// resolveIdentity completes the identity from the property file's
// overrides and the metadata service, retrying with backoff until it
// succeeds or ctx is done. Lines keep being spooled meanwhile; upload
// rounds wait (takeIdentity) and one runs as soon as the identity is known.
func (a *Agent) resolveIdentity(ctx context.Context) {
	a.ids.mu.Lock()
	a.ids.gen++
	gen := a.ids.gen
	a.ids.mu.Unlock()

	cfg := a.live.Load().cfg
	base := identityFromConfig(cfg)
	src := a.metadata
	if cfg.MetadataEndpoint == "" || identityComplete(base, cfg.Bucket) {
		src = nil
	}
	id := base
	delay := identityRetryMin
	lastErr := ""
	for attempt := 1; src != nil; attempt++ {
		actx, cancel := context.WithTimeout(ctx, cfg.MetadataTimeout)
		got, err := src.Fill(actx, base)
		cancel()
		if err == nil {
			id = got
			a.log.Info("identity from instance metadata", "account", id.Account, "lb_name", id.LBName,
				"node_ip", id.PublicIPv4, "instance_id", id.InstanceID, "region", id.Region, "attempts", attempt)
			break
		}
		if ctx.Err() != nil || a.staleIdentity(gen) {
			return
		}
		if msg := err.Error(); msg != lastErr {
			lastErr = msg
			a.log.Warn("instance metadata unavailable; lines are spooled, uploads wait", "err", err, "retry_in", delay.String())
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(delay + rand.N(delay/2+1)):
		}
		delay = min(2*delay, identityRetryMax)
	}
	if !a.setIdentity(gen, id, cfg.Bucket) {
		return
	}
	a.uploadRound(ctx)
}

// staleIdentity reports whether a newer resolution than gen started.
func (a *Agent) staleIdentity(gen int) bool {
	a.ids.mu.Lock()
	defer a.ids.mu.Unlock()
	return gen != a.ids.gen
}

// setIdentity publishes id unless a newer resolution started meanwhile. It
// reports whether id was published and is complete.
func (a *Agent) setIdentity(gen int, id Identity, bucketTemplate string) bool {
	a.ids.mu.Lock()
	defer a.ids.mu.Unlock()
	if gen != a.ids.gen {
		return false
	}
	if id.LBName != a.ids.latest.LBName && id.LBName != "" {
		a.renameEncoder(id.LBName)
	}
	a.ids.latest = id
	a.ids.ready = identityComplete(id, bucketTemplate)
	a.ids.waitLogged = false
	if !a.ids.ready {
		a.log.Error("identity incomplete; set access_log.owner_account and the bucket template's values in the property file",
			"account", id.Account, "lb_name", id.LBName, "node_ip", id.PublicIPv4, "instance_id", id.InstanceID)
	}
	return a.ids.ready
}

// takeIdentity moves the latest complete identity into the upload state,
// forgetting the bucket when the identity or the bucket settings changed.
// It reports false while the identity is not known yet. Call it with
// uploadMu held.
func (a *Agent) takeIdentity() bool {
	a.ids.mu.Lock()
	defer a.ids.mu.Unlock()
	if !a.ids.ready {
		if !a.ids.waitLogged {
			a.ids.waitLogged = true
			a.log.Info("sealed segments wait for the node's identity")
		}
		return false
	}
	if a.ids.latest != a.id || a.ids.reprovision {
		a.id = a.ids.latest
		a.bucket = ""
		a.bucketReady = false
		a.ids.reprovision = false
	}
	return true
}

// resetProvisioning makes the next upload round provision the bucket again.
func (a *Agent) resetProvisioning() {
	a.ids.mu.Lock()
	a.ids.reprovision = true
	a.ids.mu.Unlock()
}

// Identity returns the identity values the configuration sets itself (the
// property file's overrides and servo.conf); metadata fills in the rest.
func (c *Config) Identity() Identity { return identityFromConfig(c) }
