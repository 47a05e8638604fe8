//go:build !linux

package sdnotify

import "time"

// start stands in for the boot on systems without systemd: no service
// manager there reads MONOTONIC_USEC.
var start = time.Now()

func monotonic() time.Duration { return time.Since(start) }
