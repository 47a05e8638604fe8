package agent

import (
	"context"
	"github.com/elb-access-logger/elb-access-logger/agent/identity"
	"math/rand/v2"
	"sync"
	"time"
)

// IdentitySource completes an identity: it fills the empty fields of id
// and keeps the others. MetadataClient is one.
type IdentitySource interface {
	Fill(ctx context.Context, id identity.Identity) (identity.Identity, error)
}

// identityState hands the resolved identity from resolveIdentity (and
// reloads) to upload rounds.
type identityState struct {
	mu          sync.Mutex
	latest      identity.Identity
	ready       bool // latest is complete; uploads may go
	gen         int  // bumped by every new resolution; older ones stop
	reprovision bool // settings of the bucket changed
	waitLogged  bool
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
	base := cfg.Identity()
	src := a.metadata
	if cfg.MetadataEndpoint == "" || identity.Complete(base, cfg.Bucket) {
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
	a.kickUploads()
}

// staleIdentity reports whether a newer resolution than gen started.
func (a *Agent) staleIdentity(gen int) bool {
	a.ids.mu.Lock()
	defer a.ids.mu.Unlock()
	return gen != a.ids.gen
}

// setIdentity publishes id unless a newer resolution started meanwhile. It
// reports whether id was published and is complete.
func (a *Agent) setIdentity(gen int, id identity.Identity, bucketTemplate string) bool {
	a.ids.mu.Lock()
	defer a.ids.mu.Unlock()
	if gen != a.ids.gen {
		return false
	}
	if id.LBName != a.ids.latest.LBName && id.LBName != "" {
		a.renameEncoder(id.LBName)
	}
	a.ids.latest = id
	a.ids.ready = identity.Complete(id, bucketTemplate)
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
		a.forceProvision = a.forceProvision || a.ids.reprovision
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
