package agent

import (
	"time"

	"github.com/elb-access-logger/elb-access-logger/agent/config"
	"github.com/elb-access-logger/elb-access-logger/agent/identity"
	"github.com/elb-access-logger/elb-access-logger/agent/status"
	"github.com/prometheus/common/version"
)

// Status is a snapshot of the agent's state for the status page (GET /
// and GET /status on metrics.listen), read from each component's Stats
// as the metrics are.
func (a *Agent) Status() status.Status {
	now := time.Now()
	cfg := a.Config()
	healthy, why := a.health(now)
	st := status.Status{Time: now.UTC(), Version: version.Version, Started: a.started.UTC(), Healthy: healthy, Health: why,
		Identity: a.identityStatus(cfg)}
	st.Listeners = []status.Listener{}
	if a.in != nil {
		for _, l := range a.in.Stats().Listeners {
			st.Listeners = append(st.Listeners, status.Listener{Name: l.Name, Messages: l.Datagrams, Bytes: l.Bytes,
				Oversize: l.Oversize, KernelDrops: l.KernelDrops, Connections: l.ConnsOpen})
		}
	}
	st.Spool = status.Spool{Dir: cfg.SpoolDir, MaxBytes: cfg.SpoolMaxBytes}
	if a.spool != nil {
		lastSeal, _ := a.spool.Activity()
		end, bytes, lines := a.spool.Window()
		// The scheduled start (the end less a window's length; a seal
		// skips empty windows), or a later start or early seal.
		start := end.Add(-a.windowLength(end.Add(-time.Nanosecond)))
		st.Window = status.Window{Since: later(later(start, a.started), lastSeal).UTC(), End: end.UTC(), Bytes: bytes, Lines: lines}
		if segs, err := a.spool.Sealed(); err == nil && len(segs) > 0 {
			st.Sealed.Segments = len(segs)
			for _, s := range segs {
				st.Sealed.Bytes += s.Size
			}
			st.Sealed.Oldest = segs[0].End.UTC()
			st.Sealed.OldestAgeSeconds = max(0, now.Sub(segs[0].End).Seconds())
		}
		st.Spool.Bytes = a.spool.Bytes()
	}
	st.Parked = a.shipStats().Parked
	st.LastUpload, st.Errors = a.obs.events.Last()
	st.Reload = a.obs.events.Reload()
	st.Reload.Applied, st.Reload.Rejected = a.ReloadStats()
	st.Redact(cfg.SecretAccessKey)
	return st
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// identityStatus is the identity uploads use, each value with where it
// came from: the property file, servo.conf or the instance metadata.
func (a *Agent) identityStatus(cfg *config.Config) status.Identity {
	sh := a.shipStats()
	id, complete := sh.Identity, sh.IdentityReady
	if id == (identity.Identity{}) {
		id = cfg.Identity() // the resolver has not delivered yet
	}
	value := func(key, configured, resolved string) status.Value {
		switch {
		case resolved == "" && cfg.MetadataEndpoint == "":
			return status.Value{Origin: "not set (" + key + "; metadata.endpoint is empty)"}
		case resolved == "":
			return status.Value{Origin: "unknown yet (" + key + ", or instance metadata)"}
		case resolved == configured:
			return status.Value{Value: resolved, Origin: cfg.Origin(key).String()}
		default:
			return status.Value{Value: resolved, Origin: config.SourceMetadata}
		}
	}
	s := status.Identity{
		Complete:     complete,
		LoadBalancer: value("access_log.lb_name", cfg.LBName, id.LBName),
		Node:         value("access_log.node_ip", cfg.NodeIP, id.PublicIPv4),
		InstanceID:   value("access_log.instance_id", cfg.InstanceID, id.InstanceID),
		Account:      value("access_log.owner_account", cfg.OwnerAccount, id.Account),
		Region:       value("access_log.region", cfg.Region, id.Region),
	}
	origin := "template " + cfg.Bucket + ", " + cfg.Origin("access_log.bucket").String()
	if cfg.UserBucket {
		origin = "the load balancer's AccessLog attribute (ELB API)"
	}
	s.Bucket = status.Value{Value: "unknown until the identity is complete", Origin: origin}
	if b, err := identity.ExpandTemplate(cfg.Bucket, id); err == nil && complete {
		s.Bucket.Value = b
	}
	return s
}
