// Command manpage writes elb-access-logger(8), docs/elb-access-logger.8,
// from the command's flag set and the configuration's key table:
//
//	go run ./scripts/manpage            # or: go generate ./internal/cli
//
// A test checks that the committed page is what this writes.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"

	"github.com/elb-access-logger/elb-access-logger/agent/config"
	"github.com/elb-access-logger/elb-access-logger/internal/cli"
)

// page renders the man page.
func page() ([]byte, error) {
	var keys []cli.Key
	for _, k := range config.Keys() {
		keys = append(keys, cli.Key{Name: k.Name, Default: k.Default, Help: k.Help})
	}
	var b bytes.Buffer
	err := cli.ManPage(&b, keys)
	return b.Bytes(), err
}

func main() {
	out := flag.String("o", "docs/elb-access-logger.8", "the file to write (- for stdout)")
	flag.Parse()
	data, err := page()
	if err == nil {
		if *out == "-" {
			_, err = os.Stdout.Write(data)
		} else {
			err = os.WriteFile(*out, data, 0o644)
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "manpage:", err)
		os.Exit(1)
	}
}
