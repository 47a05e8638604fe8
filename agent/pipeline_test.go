package agent

import (
	"bytes"
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/elb-access-logger/elb-access-logger/agent/ingest"
	"github.com/elb-access-logger/elb-access-logger/parser"
)

// recordSink keeps what a pipeline appends, as a spool would store it, and
// the window counts.
type recordSink struct {
	mu                         sync.Mutex
	buf                        bytes.Buffer
	lines, unparsed, truncated int
}

func (s *recordSink) AppendCounted(line []byte, unparsed, truncated bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.buf.Write(line)
	s.lines++
	if unparsed {
		s.unparsed++
	}
	if truncated {
		s.truncated++
	}
	return nil
}

func (s *recordSink) snapshot() (out string, lines, unparsed, truncated int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String(), s.lines, s.unparsed, s.truncated
}

// capturedLines are the test data's captured HAProxy logs, one syslog line
// each (newline included): every ELB format, truncated lines and lines of
// no known format.
func capturedLines(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("../testdata/haproxy/*.log")
	if err != nil || len(files) == 0 {
		t.Fatalf("no captured logs: %v", err)
	}
	var out []string
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range strings.SplitAfter(string(data), "\n") {
			if strings.TrimSpace(l) != "" {
				out = append(out, strings.TrimSuffix(l, "\n")+"\n")
			}
		}
	}
	return out
}

// TestOnePipelineThroughEveryPath: the same input through a listener,
// through Ingest and through Replay gives the same bytes, the same window
// counts and the same per-format counts (issue 17: three copies of the
// datagram -> line code had drifted).
func TestOnePipelineThroughEveryPath(t *testing.T) {
	input := capturedLines(t)
	cfg := testConfig(t)
	opts := ingest.Options{MaxMessageBytes: cfg.MaxMessageBytes, Format: cfg.Format, LBName: cfg.LBName, Enabled: true}

	// A listener.
	viaSocket := &recordSink{}
	sock, err := ingest.New(viaSocket, opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := sock.Bind([]string{"udp://127.0.0.1:0"}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	sock.Serve(ctx)
	conn, err := net.Dial("udp", sock.Addrs()[0].String())
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range input {
		if _, err := conn.Write([]byte(l)); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Millisecond) // no kernel drop on a small default buffer
	}
	conn.Close()
	waitFor(t, "every datagram through the listener", func() bool { _, n, _, _ := viaSocket.snapshot(); return n == len(input) })
	cancel()
	sock.Wait()
	sock.Close()

	// Ingest.
	viaIngest := &recordSink{}
	direct, err := ingest.New(viaIngest, opts)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range input {
		if err := direct.Ingest([]byte(l)); err != nil {
			t.Fatal(err)
		}
	}

	// Replay.
	var replayed bytes.Buffer
	plan, err := Replay(cfg, strings.NewReader(strings.Join(input, "")), &replayed, time.Now())
	if err != nil {
		t.Fatal(err)
	}

	sOut, sLines, sUnparsed, sTrunc := viaSocket.snapshot()
	iOut, iLines, iUnparsed, iTrunc := viaIngest.snapshot()
	if sUnparsed == 0 || sTrunc == 0 {
		t.Fatalf("test data: %d unparsed and %d truncated lines, want some of each", sUnparsed, sTrunc)
	}
	if sOut != iOut || sOut != replayed.String() {
		t.Errorf("output differs: listener %d bytes, Ingest %d, replay %d", len(sOut), len(iOut), replayed.Len())
	}
	for _, c := range []struct {
		what                       string
		lines, unparsed, truncated int
	}{{"Ingest", iLines, iUnparsed, iTrunc}, {"replay", plan.Lines, plan.Unparsed, plan.Truncated}} {
		if c.lines != sLines || c.unparsed != sUnparsed || c.truncated != sTrunc {
			t.Errorf("%s counts lines %d unparsed %d truncated %d, listener %d %d %d",
				c.what, c.lines, c.unparsed, c.truncated, sLines, sUnparsed, sTrunc)
		}
	}
	ss, is := sock.Stats(), direct.Stats()
	if ss.Lines != is.Lines || ss.Truncated != is.Truncated || ss.SpooledBytes != is.SpooledBytes {
		t.Errorf("stats differ: listener %+v, Ingest %+v", ss.Lines, is.Lines)
	}
	for f, n := range ss.Lines {
		if got := plan.Formats[parser.Format(f).String()]; int64(got) != n {
			t.Errorf("format %s: replay %d lines, listener %d", parser.Format(f), got, n)
		}
	}
	if ss.Lines[parser.FormatUnknown] != int64(sUnparsed) {
		t.Errorf("lines_total{format=unknown} %d, window's unparsed %d", ss.Lines[parser.FormatUnknown], sUnparsed)
	}
}

// TestIngestCountsUnparsedLikeAListener: one unparsed line through
// Agent.Ingest is counted in the window (lines 1, unparsed 1) and in
// lines_total, as through a listener; Ingest used to count it as parsed
// and leave lines_total at 0.
func TestIngestCountsUnparsedLikeAListener(t *testing.T) {
	up := &metaUploader{memUploader: newMemUploader()}
	var a *Agent
	_, cancel, done := startAgent(t, testConfig(t), up, func(x *Agent) { a = x })
	defer func() { cancel(); <-done }()
	if err := a.Ingest([]byte("<158>Nov 25 06:12:36 haproxy[1]: not a line of any HAProxy format\n")); err != nil {
		t.Fatal(err)
	}
	var md map[string]string
	waitFor(t, "the window uploaded", func() bool {
		up.mu.Lock()
		defer up.mu.Unlock()
		for _, m := range up.meta {
			md = m
		}
		return md != nil
	})
	if md["lines"] != "1" || md["unparsed"] != "1" {
		t.Errorf("window counts: lines %q unparsed %q, want 1 and 1", md["lines"], md["unparsed"])
	}
	m := scrape(t, a.MetricsAddr())
	if got := m[`elb_access_logger_lines_total{format="unknown"}`]; got != 1 {
		t.Errorf(`lines_total{format="unknown"}: got %v, want 1`, got)
	}
	if _, ok := m["elb_access_logger_lines_unparsed_total"]; ok {
		t.Error(`lines_unparsed_total is exported again; lines_total{format="unknown"} is the one count`)
	}
}
