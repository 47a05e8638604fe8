package agent

import (
	"context"
	"github.com/elb-access-logger/elb-access-logger/agent/config"
	"github.com/elb-access-logger/elb-access-logger/agent/identity"
	"sync"
)

// identityState keeps the latest identity the resolver delivered, for the
// load balancer's name (lbName); the Shipper has its own copy.
type identityState struct {
	mu     sync.Mutex // guards latest
	latest identity.Identity
}

// setIdentity publishes an identity the resolver delivered: the encoder
// names its load balancer, and when it is complete an upload round runs.
func (a *Agent) setIdentity(id identity.Identity, complete bool) {
	a.ids.mu.Lock()
	if id.LBName != a.ids.latest.LBName && id.LBName != "" && a.in != nil {
		a.in.SetLBName(id.LBName)
	}
	a.ids.latest = id
	a.ids.mu.Unlock()
	if a.onIdentity != nil {
		a.onIdentity(id)
	}
	if !complete {
		a.log.Error("identity incomplete; set access_log.owner_account and the bucket template's values in the property file",
			"account", id.Account, "lb_name", id.LBName, "node_ip", id.PublicIPv4, "instance_id", id.InstanceID)
	}
	if a.ship != nil {
		a.ship.SetIdentity(id, complete)
	}
}

// resolveIdentity starts resolving the identity of the configuration in
// force; a resolution still running is superseded.
func (a *Agent) resolveIdentity(ctx context.Context) {
	cfg := a.live.Load().cfg
	a.resolver.Resolve(ctx, cfg.Identity(), cfg.Bucket)
}

// resetProvisioning makes the next upload round provision the bucket again.
func (a *Agent) resetProvisioning() {
	if a.ship != nil {
		a.ship.Reprovision()
	}
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
