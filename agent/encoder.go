package agent

import (
	"github.com/elb-access-logger/elb-access-logger/parser"

	"github.com/elb-access-logger/elb-access-logger/agent/config"
)

// encoderFor returns the encoder of cfg's access_log.format for the load
// balancer named lbName (the second field of an ELB line).
func encoderFor(cfg *config.Config, lbName string) (parser.Encoder, error) {
	return parser.NewEncoder(cfg.Format, parser.EncoderOptions{LBName: lbName})
}

// lbName is the load balancer name lines are encoded with: the latest
// identity's (metadata or property file), else the property file's.
func (a *Agent) lbName(cfg *config.Config) string {
	a.ids.mu.Lock()
	defer a.ids.mu.Unlock()
	if a.ids.latest.LBName != "" {
		return a.ids.latest.LBName
	}
	return cfg.LBName
}

// renameEncoder makes the live encoder write lbName, keeping whatever
// configuration a concurrent reload stored.
func (a *Agent) renameEncoder(lbName string) {
	for {
		old := a.live.Load()
		if old == nil {
			return
		}
		enc, err := encoderFor(old.cfg, lbName)
		if err != nil {
			return // the format was validated when old was stored
		}
		next := *old
		next.enc = enc
		if a.live.CompareAndSwap(old, &next) {
			return
		}
	}
}
