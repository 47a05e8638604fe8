package cli

import (
	"bytes"
	"errors"
	"flag"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// Every flag the command parses is documented, once, and nothing else.
func TestFlagDocsCoverTheFlagSet(t *testing.T) {
	var defined, documented []string
	newFlagSet(&Options{}).VisitAll(func(f *flag.Flag) { defined = append(defined, f.Name) })
	for _, d := range flagDocs {
		documented = append(documented, d.name)
	}
	slices.Sort(documented)
	if !slices.Equal(defined, documented) {
		t.Errorf("flags %v, documented %v", defined, documented)
	}
}

func TestParse(t *testing.T) {
	tests := []struct {
		args    []string
		want    Options
		wantErr string // substring; "" means no error
	}{
		{nil, Options{Config: DefaultConfigPath}, ""},
		{[]string{"--config", "/x.properties", "--gomaxprocs", "3"}, Options{Config: "/x.properties", ConfigExplicit: true, MaxProcs: 3}, ""},
		{[]string{"-h"}, Options{Config: DefaultConfigPath, Help: true}, ""},
		{[]string{"--help"}, Options{Config: DefaultConfigPath, Help: true}, ""},
		{[]string{"--version"}, Options{Config: DefaultConfigPath, Version: true}, ""},
		{[]string{"--replay", "-", "--dry-run"}, Options{Config: DefaultConfigPath, Replay: "-", DryRun: true}, ""},
		{[]string{"--dry-run"}, Options{}, "--dry-run needs --replay"},
		{[]string{"--check-config", "--replay", "x"}, Options{}, "--check-config and --replay"},
		{[]string{"--nope"}, Options{}, "flag provided but not defined: --nope"},
		{[]string{"-nope"}, Options{}, "flag provided but not defined: --nope"},
		{[]string{"--config"}, Options{}, "flag needs an argument: --config"},
		{[]string{"--gomaxprocs", "0"}, Options{}, `invalid value "0" for flag --gomaxprocs`},
		{[]string{"--gomaxprocs", "x"}, Options{}, `invalid value "x" for flag --gomaxprocs`},
		{[]string{"--dry-run=maybe"}, Options{}, "for --dry-run"},
		{[]string{"extra"}, Options{}, `unexpected argument "extra"`},
	}
	for _, tt := range tests {
		got, err := Parse(tt.args)
		if tt.wantErr == "" {
			if err != nil || *got != tt.want {
				t.Errorf("Parse(%q) = %+v, %v; want %+v", tt.args, got, err, tt.want)
			}
			continue
		}
		var ue *UsageError
		if !errors.As(err, &ue) || !strings.Contains(err.Error(), tt.wantErr) || !strings.HasSuffix(err.Error(), "(see elb-access-logger --help)") {
			t.Errorf("Parse(%q): error %v, want a UsageError containing %q and pointing at --help", tt.args, err, tt.wantErr)
		}
	}
}

func TestHelp(t *testing.T) {
	var b bytes.Buffer
	if err := WriteHelp(&b); err != nil {
		t.Fatal(err)
	}
	help := b.String()
	for _, d := range flagDocs {
		if !regexp.MustCompile(`(?m)^  --` + d.name + `( [A-Z]+)?$`).MatchString(help) {
			t.Errorf("help does not list --%s on a line of its own:\n%s", d.name, help)
		}
	}
	for _, want := range []string{"Usage: elb-access-logger ", "Exit codes:\n  0  ", "\n  1  ", "\n  2  usage error",
		DefaultConfigPath, DocDir + "/", "man 8 elb-access-logger"} {
		if !strings.Contains(help, want) {
			t.Errorf("help lacks %q:\n%s", want, help)
		}
	}
	for i, line := range strings.Split(help, "\n") {
		if len(line) > 80 {
			t.Errorf("help line %d is %d columns: %q", i+1, len(line), line)
		}
		if regexp.MustCompile(`(^|\s)-[a-z]`).MatchString(line) {
			t.Errorf("help line %d spells a flag with one dash: %q", i+1, line)
		}
	}
}
