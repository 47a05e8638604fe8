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

// discardSink takes every line and keeps none.
type discardSink struct{}

func (discardSink) AppendCounted([]byte, bool, bool) error { return nil }

// BenchmarkPipeline measures one datagram through the pipeline (parse,
// encode as ELB, append to a sink, count) without the socket: compare
// with parser's BenchmarkParseEncodeELB for what the pipeline adds.
func BenchmarkPipeline(b *testing.B) {
	in, err := New(discardSink{}, Options{Format: "elb", LBName: "lb", Enabled: true, Result: func(error) {}})
	if err != nil {
		b.Fatal(err)
	}
	line := []byte(sampleLine)
	var pl pipeline
	b.SetBytes(int64(len(line)))
	b.ReportAllocs()
	for b.Loop() {
		in.handle(&pl, line)
	}
}
