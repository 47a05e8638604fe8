package config_test

import (
	"bytes"
	"os"
	"testing"

	"github.com/elb-access-logger/elb-access-logger/internal/cli"
)

// A key added, removed or reworded here changes elb-access-logger(8):
// regenerate it with go run ./scripts/manpage (the page lists Keys()).
func TestManPageListsTheseKeys(t *testing.T) {
	want, err := cli.Page()
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("../../" + cli.ManPagePath)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s is not what Keys() makes: run go run ./scripts/manpage", cli.ManPagePath)
	}
}
