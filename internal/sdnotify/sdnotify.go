// Package sdnotify tells the service manager how the daemon is doing:
// systemd's notify protocol (sd_notify(3)), for units of Type=notify.
//
// The protocol is one datagram of newline-separated VAR=value pairs sent
// to the unix datagram socket named by $NOTIFY_SOCKET ('@' for an abstract
// name); done here in a few lines rather than with a library (see
// docs/decisions.md).
package sdnotify

import (
	"fmt"
	"net"
	"os"
)

// Messages of the protocol the agent sends.
const (
	Ready     = "READY=1"
	Stopping  = "STOPPING=1"
	Reloading = "RELOADING=1"
)

// Notify sends state (one or more VAR=value lines) to the socket of
// $NOTIFY_SOCKET. Without that variable it does nothing and returns false:
// the daemon was not started by a service manager that listens.
func Notify(state string) (bool, error) {
	name := os.Getenv("NOTIFY_SOCKET")
	if name == "" {
		return false, nil
	}
	switch name[0] {
	case '/', '@': // a path, or an abstract name (Go maps '@' to the leading NUL)
	default:
		return false, fmt.Errorf("NOTIFY_SOCKET=%q: want an absolute path or an @abstract name", name)
	}
	conn, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: name, Net: "unixgram"})
	if err != nil {
		return false, fmt.Errorf("notify %s: %w", name, err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte(state)); err != nil {
		return false, fmt.Errorf("notify %s: %w", name, err)
	}
	return true, nil
}
