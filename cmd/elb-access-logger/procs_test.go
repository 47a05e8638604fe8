package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func TestDefaultProcs(t *testing.T) {
	for _, tt := range []struct {
		env  string
		want int
	}{
		{"", 1},
		{"2", 2},
		{"16", 16},
		{"0", 1},
		{"-3", 1},
		{"two", 1},
	} {
		t.Setenv("GOMAXPROCS", tt.env)
		if got := defaultProcs(); got != tt.want {
			t.Errorf("GOMAXPROCS=%q: defaultProcs() = %d, want %d", tt.env, got, tt.want)
		}
	}
}

func TestGOMAXPROCSFlagUsage(t *testing.T) {
	props := writeProps(t, "metadata.endpoint =\nspool.dir = "+t.TempDir()+"\n")
	for _, arg := range []string{"0", "-1", "x"} {
		var stdout, stderr bytes.Buffer
		err := run(context.Background(), []string{"--config", props, "--gomaxprocs", arg}, &stdout, &stderr)
		if got := exitCode(err); got != exitUsage {
			t.Errorf("--gomaxprocs %s: exit code %d (%v), want %d", arg, got, err, exitUsage)
		}
		if err == nil || !strings.Contains(err.Error()+stderr.String(), "gomaxprocs") {
			t.Errorf("--gomaxprocs %s: error %v does not name the flag (stderr %q)", arg, err, stderr.String())
		}
	}
}
