package agent

import "errors"

// Ingest spools one syslog datagram exactly as a listener would: parsed,
// encoded in the configured format, appended to the active window and
// counted, through the same pipeline (ingest.Ingest). It lets a program run
// an agent without sockets (syslog.listen empty): the fleet simulation
// (scripts/fleetsim) runs a thousand agents in one process this way. Call
// it after Start; it is safe for concurrent use.
func (a *Agent) Ingest(dgram []byte) error {
	if a.in == nil {
		return errors.New("agent: ingest before Start")
	}
	return a.in.Ingest(dgram)
}
