// Command manpage writes elb-access-logger(8), docs/elb-access-logger.8,
// from the command's flag set and the configuration's key table:
//
//	go run ./scripts/manpage            # or: go generate ./internal/cli
//
// Tests in internal/cli and agent/config check that the committed page is
// what this writes.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/elb-access-logger/elb-access-logger/internal/cli"
)

func main() {
	out := flag.String("o", cli.ManPagePath, "the file to write (- for stdout)")
	flag.Parse()
	data, err := cli.Page()
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
