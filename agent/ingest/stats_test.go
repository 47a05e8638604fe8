package ingest

import (
	"testing"

	"github.com/elb-access-logger/elb-access-logger/parser"
)

func TestHotPathCountingAllocatesNothing(t *testing.T) {
	var c counters
	c.listeners = map[string]*listenerCounters{}
	lc := c.listener("udp://127.0.0.1:514")
	rec := parser.Record{Format: parser.FormatHTTPLog, Truncated: true}
	allocs := testing.AllocsPerRun(1000, func() {
		lc.datagrams.Add(1)
		lc.bytes.Add(200)
		c.spooled(&rec, 180)
	})
	if allocs != 0 {
		t.Errorf("allocations per line: got %v, want 0", allocs)
	}
	if got := c.lines[parser.FormatHTTPLog].Load(); got != 1001 {
		t.Errorf("httplog lines: got %d, want 1001", got)
	}
}
