package agent

import (
	"errors"
	"sync"

	"github.com/elb-access-logger/elb-access-logger/parser"
)

// ingester parses datagrams handed to Ingest; one parser, one at a time.
type ingester struct {
	mu   sync.Mutex
	p    *parser.Parser
	rec  parser.Record
	line []byte
}

// Ingest spools one syslog datagram exactly as a listener would: parsed,
// encoded in the configured format and appended to the active window. It
// lets a program run an agent without sockets (syslog.listen empty): the
// fleet simulation (scripts/fleetsim) runs a thousand agents in one
// process this way. Call it after Start; it is safe for concurrent use.
func (a *Agent) Ingest(dgram []byte) error {
	if a.spool == nil {
		return errors.New("agent: ingest before Start")
	}
	live := a.live.Load()
	if !live.cfg.Enabled {
		return nil
	}
	in := &a.ingest
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.p == nil {
		in.p = parser.NewParser()
	}
	if err := in.p.Parse(dgram, &in.rec); err != nil {
		return nil // empty datagram, as a listener drops it
	}
	in.line = live.enc.Encode(in.line[:0], &in.rec)
	err := a.spool.Append(in.line)
	a.spoolResult(err)
	return err
}
