package config

import (
	"strings"
	"testing"
	"time"
)

func TestWindowEndsAreUTCAndStrictlyAfter(t *testing.T) {
	tests := []struct {
		cfg      Config
		at, want string
	}{
		{Config{EmitInterval: 5}, "06:15:00", "06:20:00"}, // on a boundary: the next one
		{Config{EmitInterval: 5}, "06:59:59", "07:00:00"},
		{Config{EmitInterval: 60}, "23:00:01", "00:00:00"}, // next day
		{Config{Schedule: "* * * * * *"}, "06:12:36", "06:12:37"},
		{Config{Schedule: "@hourly"}, "06:12:36", "07:00:00"},
	}
	for _, tt := range tests {
		s, err := WindowSchedule(&tt.cfg)
		if err != nil {
			t.Fatal(err)
		}
		at, _ := time.Parse("15:04:05", tt.at)
		at = time.Date(2026, 11, 25, at.Hour(), at.Minute(), at.Second(), 0, time.UTC)
		got := NextWindowEnd(s, at.In(time.FixedZone("UTC-7", -7*3600)))
		if got.Location() != time.UTC || got.Format("15:04:05") != tt.want {
			t.Errorf("%+v at %s: got %v, want %s UTC", tt.cfg, tt.at, got, tt.want)
		}
	}
}

func TestSpoolAndKeyLayoutConfig(t *testing.T) {
	tests := []struct{ content, want string }{
		{"access_log.key_layout = s3\n", `access_log.key_layout: "s3" is not one of seed, aws`},
		{"access_log.prefix = logs/AWSLogs\n", "access_log.prefix: must not contain AWSLogs"},
		{"access_log.prefix = a\\u0007b\n", "access_log.prefix: \"a\\ab\": control characters"},
		{"spool.max_bytes = 4096\n", "spool.max_bytes: \"4096\" is not a whole number of bytes of at least 1048576"},
		{"objectstorage.max_concurrency = 0\n", "objectstorage.max_concurrency: \"0\" is not a whole number from 1 to 64"},
		{"access_log.schedule = CRON_TZ=Asia/Tokyo 0 * * * *\n", "windows are aligned to UTC"},
	}
	for _, tt := range tests {
		p := writeConfig(t, tt.content)
		_, err := LoadConfig(p, true)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: got %v, want an error containing %q", tt.content, err, tt.want)
		}
	}
	p := writeConfig(t, "access_log.key_layout = aws\naccess_log.prefix = /my/logs/\nspool.max_bytes = 1048576\nobjectstorage.max_concurrency = 4\n")
	c, err := LoadConfig(p, true)
	if err != nil {
		t.Fatal(err)
	}
	if c.KeyLayout != "aws" || c.KeyPrefix != "my/logs" || c.SpoolMaxBytes != 1<<20 || c.MaxConcurrency != 4 {
		t.Errorf("got layout %q prefix %q max_bytes %d concurrency %d", c.KeyLayout, c.KeyPrefix, c.SpoolMaxBytes, c.MaxConcurrency)
	}
}
