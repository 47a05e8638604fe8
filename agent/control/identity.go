package control

import "github.com/elb-access-logger/elb-access-logger/agent/identity"

// idResult is an identity the resolver delivered.
type idResult struct {
	id       identity.Identity
	complete bool
}

// deliver hands an identity from the resolver to Run's goroutine without
// blocking (the resolver holds its lock meanwhile, and Run's goroutine may
// be waiting for it in Resolve): a result not taken yet is replaced by the
// newer one. The resolver delivers one result at a time, in order.
func (c *Controller) deliver(id identity.Identity, complete bool) {
	r := idResult{id, complete}
	for {
		select {
		case c.ids <- r:
			return
		default:
		}
		select {
		case <-c.ids: // superseded
		default:
		}
	}
}

// resolveIdentity starts resolving the identity of the configuration in
// force; a resolution still running is superseded.
func (c *Controller) resolveIdentity() {
	cfg := c.Config()
	c.resolver.Resolve(c.ctx, cfg.Identity(), cfg.Bucket)
}

// applyIdentity publishes an identity the resolver delivered: the encoder
// names its load balancer, the command hears it (OnIdentity), and when it
// is complete the Shipper may upload.
func (c *Controller) applyIdentity(r idResult) {
	id := r.id
	l := *c.live.Load()
	if id.LBName != l.idLB && id.LBName != "" {
		c.parts.Ingest.SetLBName(id.LBName)
	}
	l.idLB = id.LBName
	c.live.Store(&l)
	if c.onIdentity != nil {
		c.onIdentity(id)
	}
	if !r.complete {
		c.log.Error("identity incomplete; set access_log.owner_account and the bucket template's values in the property file",
			"account", id.Account, "lb_name", id.LBName, "node_ip", id.PublicIPv4, "instance_id", id.InstanceID)
	}
	c.parts.Ship.SetIdentity(id, r.complete)
}
