package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"github.com/elb-access-logger/elb-access-logger/agent/config"
	"github.com/elb-access-logger/elb-access-logger/agent/control"
	"github.com/elb-access-logger/elb-access-logger/agent/identity/identitytest"
	"github.com/elb-access-logger/elb-access-logger/agent/ship"
	"github.com/elb-access-logger/elb-access-logger/uploader"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func replayConfig(t testing.TB, format string, maxBytes int) *config.Config {
	t.Helper()
	c := config.DefaultConfig()
	c.Format = format
	c.LBName = "lb"
	c.MaxMessageBytes = maxBytes
	return c
}

func TestReplayLines(t *testing.T) {
	long := "<158>Nov 25 06:12:36 haproxy[1]: " + strings.Repeat("x", 2000)
	tests := []struct {
		name                       string
		in                         string
		max                        int
		lines, unparsed, truncated int
		wantLongest                int // longest output line, newline excluded
	}{
		{"blank lines skipped, no final newline", "\n\ntcplog fe be s1 -- 1 0 5\n\n<158>Nov 25 06:12:36 haproxy[1]: Proxy fe started.", 65536, 2, 1, 0, 0},
		{"a line longer than syslog.max_message_bytes is cut to it", long + "\nnext\n", 1000, 2, 2, 0, 1000 - len("<158>") + len(" localhost")},
		{"crlf", "tcplog fe be s1 -- 1 0 5\r\ntcplog fe be s1 -- 1 0 5\r\n", 65536, 2, 0, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			plan, err := Replay(replayConfig(t, "raw", tt.max), strings.NewReader(tt.in), &out, time.Date(2026, 11, 25, 6, 30, 0, 0, time.UTC))
			if err != nil {
				t.Fatal(err)
			}
			if plan.Lines != tt.lines || plan.Unparsed != tt.unparsed || plan.Truncated != tt.truncated {
				t.Errorf("lines, unparsed, truncated: got %d, %d, %d, want %d, %d, %d", plan.Lines, plan.Unparsed, plan.Truncated, tt.lines, tt.unparsed, tt.truncated)
			}
			if got := strings.Count(out.String(), "\n"); got != tt.lines {
				t.Errorf("output lines: got %d, want %d", got, tt.lines)
			}
			if plan.Bytes != int64(out.Len()) {
				t.Errorf("plan bytes: got %d, want %d", plan.Bytes, out.Len())
			}
			if want := time.Date(2026, 11, 25, 7, 0, 0, 0, time.UTC); !plan.WindowEnd.Equal(want) {
				t.Errorf("window end: got %v, want %v", plan.WindowEnd, want)
			}
			if tt.wantLongest > 0 {
				longest := 0
				for _, l := range strings.Split(out.String(), "\n") {
					longest = max(longest, len(l))
				}
				if longest != tt.wantLongest {
					t.Errorf("longest line: got %d, want %d", longest, tt.wantLongest)
				}
			}
		})
	}
}

// FuzzReplay feeds arbitrary files to Replay: every non-blank line comes
// out as exactly one line, whatever the encoder.
func FuzzReplay(f *testing.F) {
	f.Add([]byte("tcplog fe be s1 -- 1 0 5\n\n<158>Nov 25 06:12:36 haproxy[1]: x\r\n"))
	f.Add([]byte("elb-http 25/Nov/2026:17:13:48.481 127.0.0.1:1 127.0.0.1:2 -:- fe be/<NOSRV> 0/-1/-1/-1/0/0 503 1 2 SC - - \"GET / HTTP/1.1\" \"h\" \"ua\""))
	cfgs := map[string]*config.Config{}
	for _, format := range []string{"elb", "raw", "json"} {
		cfgs[format] = replayConfig(f, format, 300)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		for format, cfg := range cfgs {
			var out bytes.Buffer
			plan, err := Replay(cfg, bytes.NewReader(in), &out, time.Unix(0, 0))
			if err != nil {
				t.Fatalf("%s: %v", format, err)
			}
			if got := bytes.Count(out.Bytes(), []byte("\n")); got != plan.Lines {
				t.Fatalf("%s: %d output lines, plan says %d", format, got, plan.Lines)
			}
		}
	})
}

var quietLog = slog.New(slog.NewTextHandler(io.Discard, nil))

// replayAsConfigured replays one line with the configuration ReplayConfig
// makes of cfg and returns the plan.
func replayAsConfigured(t *testing.T, cfg *config.Config) *ReplayPlan {
	t.Helper()
	eff, err := ReplayConfig(context.Background(), cfg, quietLog)
	if err != nil {
		t.Fatal(err)
	}
	plan, err := Replay(eff, strings.NewReader("tcplog fe be s1 -- 1 0 5\n"), io.Discard, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return plan
}

// TestReplayIdentityFromMetadata: a replay completes the identity from
// instance metadata as the agent does, so the plan names the bucket and
// the owner (issue 16, item 12: replay never asked metadata).
func TestReplayIdentityFromMetadata(t *testing.T) {
	srv := httptest.NewServer(&identitytest.FakeIMDS{Values: identitytest.EucaValues(), TokenStatus: http.StatusOK})
	defer srv.Close()
	cfg := config.DefaultConfig()
	cfg.MetadataEndpoint, cfg.MetadataTimeout = srv.URL, 5*time.Second
	cfg.Bucket = "logs-{lb_name}"
	plan := replayAsConfigured(t, cfg)
	if plan.Bucket != "logs-my-web-lb" || plan.Owner != "123456789012" || plan.BucketErr != nil {
		t.Errorf("plan: bucket %q (%v), owner %q; want logs-my-web-lb and 123456789012 from metadata", plan.Bucket, plan.BucketErr, plan.Owner)
	}
	// Metadata unreachable: the replay gives up when its context ends.
	srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if _, err := ReplayConfig(ctx, cfg, quietLog); err == nil || !strings.Contains(err.Error(), "instance metadata") {
		t.Errorf("metadata down: got %v, want an error naming instance metadata", err)
	}
}

// TestReplayKey: a replay has its own key, never the one the running agent
// writes for the window, the same for the same capture, in the configured
// layout and prefix (issue 16, item 13).
func TestReplayKey(t *testing.T) {
	now := time.Date(2026, 11, 25, 6, 30, 0, 0, time.UTC)
	capture := "tcplog fe be s1 -- 1 0 5\n"
	cfg := replayConfig(t, "elb", 65536)
	cfg.OwnerAccount, cfg.Region, cfg.NodeIP = "123456789012", "eu-1", "10.0.0.5"
	key := func(c *config.Config, in string) string {
		t.Helper()
		plan, err := Replay(c, strings.NewReader(in), io.Discard, now)
		if err != nil || plan.KeyErr != nil {
			t.Fatalf("replay: %v, key: %v", err, plan.KeyErr)
		}
		return plan.Key
	}
	seed := key(cfg, capture)
	if !strings.HasPrefix(seed, "elb-access-replay-") || seed == uploader.SeedKey(time.Date(2026, 11, 25, 7, 0, 0, 0, time.UTC)) {
		t.Errorf("seed layout: got %q, want elb-access-replay-...", seed)
	}
	if again := key(cfg, capture); again != seed {
		t.Errorf("same capture: got %q then %q, want the same key", seed, again)
	}
	if other := key(cfg, capture+capture); other == seed {
		t.Errorf("another capture: got the same key %q", other)
	}
	cfg.KeyLayout, cfg.KeyPrefix = "aws", "logs/elb"
	aws := key(cfg, capture)
	if !strings.HasPrefix(aws, "logs/elb/AWSLogs/123456789012/elasticloadbalancing/eu-1/2026/11/25/") || !strings.HasSuffix(aws, "_10.0.0.5_replay-"+strings.TrimSuffix(strings.TrimPrefix(seed, "elb-access-replay-"), ".log")+".log") {
		t.Errorf("aws layout: got %q", aws)
	}
	cfg.Region = ""
	plan, err := Replay(cfg, strings.NewReader(capture), io.Discard, now)
	if err != nil || plan.KeyErr == nil || plan.Key != "" {
		t.Errorf("aws layout without a region: got key %q, err %v, want a KeyErr", plan.Key, plan.KeyErr)
	}
}

// TestReplayELBAPIMode: in elb-api mode a replay goes to the owner's
// bucket of the last AccessLog attribute, in the aws layout under its
// prefix, and plans no provisioning of ACL or lifecycle (UserOwned).
func TestReplayELBAPIMode(t *testing.T) {
	cfg := replayConfig(t, "elb", 65536)
	cfg.Source, cfg.SpoolDir, cfg.MetadataEndpoint = config.SourceELBAPI, t.TempDir(), ""
	cfg.OwnerAccount, cfg.Region, cfg.NodeIP = "123456789012", "eu-1", "10.0.0.5"
	if _, err := ReplayConfig(context.Background(), cfg, quietLog); err == nil {
		t.Error("no attribute known: want an error")
	}
	st, _ := json.Marshal(map[string]any{"access_log": control.AccessLog{Enabled: true, Bucket: "owners-bucket", Prefix: "pre", EmitInterval: 5}})
	if err := os.WriteFile(filepath.Join(cfg.SpoolDir, ship.LegacyStateFile), st, 0o600); err != nil {
		t.Fatal(err)
	}
	plan := replayAsConfigured(t, cfg)
	if plan.Bucket != "owners-bucket" || !plan.Spec.UserOwned || plan.Spec.Prefix != "pre" {
		t.Errorf("plan: bucket %q spec %+v, want the owner's bucket, user-owned, prefix pre", plan.Bucket, plan.Spec)
	}
	if !strings.HasPrefix(plan.Key, "pre/AWSLogs/123456789012/") || !strings.Contains(plan.Key, "_replay-") {
		t.Errorf("key: got %q, want pre/AWSLogs/... with a replay- part", plan.Key)
	}
}
