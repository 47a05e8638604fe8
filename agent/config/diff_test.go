package config

import (
	"slices"
	"testing"
)

func TestDiff(t *testing.T) {
	base := DefaultConfig()
	with := func(key, v string) *Config {
		t.Helper()
		c := base.clone()
		if err := c.setFrom(key, v, Origin{Source: SourceFile}); err != nil {
			t.Fatal(err)
		}
		return c
	}
	tests := []struct {
		key, value                    string
		rebind, reprovision, identity bool
		restart                       bool
	}{
		{"syslog.listen", "udp://127.0.0.1:5514", true, false, false, false},
		{"access_log.lifecycle_days", "7", false, true, false, false},
		{"access_log.bucket", "b-{lb_name}", false, true, true, false},
		{"access_log.lb_name", "lb", false, false, true, false},
		{"access_log.owner_account", "123456789012", false, true, true, false},
		{"access_log.format", "json", false, false, false, false},
		{"spool.dir", "/elsewhere", false, false, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			d := Diff(base, with(tt.key, tt.value))
			if d.Rebind != tt.rebind || d.Reprovision != tt.reprovision || d.NewIdentity != tt.identity {
				t.Errorf("got rebind %v reprovision %v identity %v, want %v %v %v", d.Rebind, d.Reprovision, d.NewIdentity, tt.rebind, tt.reprovision, tt.identity)
			}
			if got := slices.Contains(d.Restart, tt.key); got != tt.restart {
				t.Errorf("restart: got %v (%v), want %v", got, d.Restart, tt.restart)
			}
			if got := slices.Contains(d.Changed, tt.key); got == tt.restart {
				t.Errorf("changed: got %v, want %s listed only when not a restart key", d.Changed, tt.key)
			}
		})
	}
	if d := Diff(base, base.clone()); len(d.Changed)+len(d.Restart) != 0 || d.Rebind {
		t.Errorf("equal configurations: got %+v, want no change", d)
	}
}

func TestKeepRestartValues(t *testing.T) {
	old := DefaultConfig()
	next := old.clone()
	if err := next.setFrom("spool.dir", "/elsewhere", Origin{Source: SourceFile}); err != nil {
		t.Fatal(err)
	}
	if err := next.setFrom("access_log.format", "json", Origin{Source: SourceFile}); err != nil {
		t.Fatal(err)
	}
	kept := KeepRestartValues(old, next)
	if kept.SpoolDir != old.SpoolDir || kept.Format != "json" {
		t.Errorf("got spool %q format %q, want the old spool and the new format", kept.SpoolDir, kept.Format)
	}
	if d := Diff(old, kept); len(d.Restart) != 0 || !slices.Equal(d.Changed, []string{"access_log.format"}) {
		t.Errorf("after keeping: got %+v, want only access_log.format changed", d)
	}
	if next.SpoolDir != "/elsewhere" {
		t.Error("KeepRestartValues changed its argument")
	}
}

func TestWithAccessLog(t *testing.T) {
	base := DefaultConfig()
	n := base.WithAccessLog(true, "user-bucket", "p", 5)
	if !n.Enabled || !n.UserBucket || n.Bucket != "user-bucket" || n.KeyPrefix != "p" || n.KeyLayout != "aws" || n.EmitInterval != 5 {
		t.Errorf("got %+v", n)
	}
	if o := n.Origin("access_log.bucket"); o.Source != SourceELBAPI {
		t.Errorf("origin: got %v, want %s", o, SourceELBAPI)
	}
	if base.UserBucket || base.Bucket == "user-bucket" {
		t.Error("WithAccessLog changed its receiver")
	}
}
