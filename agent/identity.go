package agent

import (
	"context"
	"github.com/elb-access-logger/elb-access-logger/agent/config"
	"github.com/elb-access-logger/elb-access-logger/agent/identity"
	"sync"
)

// identityState hands the identity the resolver delivers (setIdentity)
// to upload rounds (takeIdentity).
type identityState struct {
	mu          sync.Mutex // guards the fields below
	latest      identity.Identity
	ready       bool // latest is complete; uploads may go
	reprovision bool // settings of the bucket changed
	waitLogged  bool
}

// setIdentity publishes an identity the resolver delivered: the encoder
// names its load balancer, and when it is complete an upload round runs.
func (a *Agent) setIdentity(id identity.Identity, complete bool) {
	a.ids.mu.Lock()
	if id.LBName != a.ids.latest.LBName && id.LBName != "" && a.in != nil {
		a.in.SetLBName(id.LBName)
	}
	a.ids.latest = id
	a.ids.ready = complete
	a.ids.waitLogged = false
	a.ids.mu.Unlock()
	if a.onIdentity != nil {
		a.onIdentity(id)
	}
	if !complete {
		a.log.Error("identity incomplete; set access_log.owner_account and the bucket template's values in the property file",
			"account", id.Account, "lb_name", id.LBName, "node_ip", id.PublicIPv4, "instance_id", id.InstanceID)
		return
	}
	a.kickUploads()
}

// resolveIdentity starts resolving the identity of the configuration in
// force; a resolution still running is superseded.
func (a *Agent) resolveIdentity(ctx context.Context) {
	cfg := a.live.Load().cfg
	a.resolver.Resolve(ctx, cfg.Identity(), cfg.Bucket)
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

// lbName is the load balancer name of the latest identity (metadata or
// property file), else the property file's.
func (a *Agent) lbName(cfg *config.Config) string {
	a.ids.mu.Lock()
	defer a.ids.mu.Unlock()
	if a.ids.latest.LBName != "" {
		return a.ids.latest.LBName
	}
	return cfg.LBName
}
