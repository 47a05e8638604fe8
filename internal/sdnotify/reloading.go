package sdnotify

import (
	"fmt"
	"time"
)

// ReloadingNow is the message that starts a reload: RELOADING=1 with
// MONOTONIC_USEC, the time on CLOCK_MONOTONIC in microseconds, which
// systemd requires with it (sd_notify(3); for Type=notify-reload it tells
// this reload from an earlier one). Send Ready when the reload is done,
// applied or rejected: the daemon runs on either way.
func ReloadingNow() string {
	return fmt.Sprintf("%s\nMONOTONIC_USEC=%d", Reloading, monotonic()/time.Microsecond)
}
