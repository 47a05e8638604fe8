package ingest

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"os/user"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// UnixSocket says how a unix:// listener's socket file is made.
type UnixSocket struct {
	// Mode is the file's permission bits (syslog.unix_socket_mode); 0
	// is 0660.
	Mode fs.FileMode
	// Group, when set, owns the file (syslog.unix_socket_group). If
	// GroupRequired is false, a group that does not exist or cannot be
	// given is a warning; else it is an error.
	Group         string
	GroupRequired bool
}

// DefaultUnixSocketMode is syslog.unix_socket_mode's default: HAProxy,
// in the socket's group, may write.
const DefaultUnixSocketMode fs.FileMode = 0o660

// unixgramListener is a udpListener on a unix datagram socket the agent
// created: the same recvmmsg batches and hand-off. Unix datagram sockets
// never drop at the receiver: when the receive queue is full
// (net.unix.max_dgram_qlen datagrams) the sender's send fails, and
// HAProxy counts the log in DroppedLogs. So Dropped stays 0; the loss is
// read from HAProxy's stats socket (metrics.haproxy_stats_socket).
type unixgramListener struct {
	*udpListener
	path string
	file os.FileInfo // the socket file as bound: only it is removed at close
}

// listenUnixgram creates a unix datagram socket at path: a stale socket
// file left there by an earlier run is removed, anything else (a regular
// file, a socket someone is bound to, a socket of another user) is
// refused.
func listenUnixgram(path string, us UnixSocket, maxLen, rcvbuf int, log *slog.Logger) (*unixgramListener, error) {
	if err := removeStaleSocket(path); err != nil {
		return nil, fmt.Errorf("listen unix %s: %w", path, err)
	}
	sock, err := openUnixgramSocket(path)
	if err != nil {
		return nil, fmt.Errorf("listen unix %s: %w", path, err)
	}
	fi, err := os.Lstat(path)
	if err != nil {
		sock.close()
		return nil, fmt.Errorf("listen unix %s: %w", path, err)
	}
	u := &unixgramListener{path: path, file: fi}
	fail := func(err error) (*unixgramListener, error) {
		sock.close()
		u.unlink()
		return nil, fmt.Errorf("listen unix %s: %w", path, err)
	}
	mode := us.Mode
	if mode == 0 {
		mode = DefaultUnixSocketMode
	}
	if err := os.Chmod(path, mode.Perm()); err != nil {
		return fail(err)
	}
	if us.Group != "" {
		if err := chgrp(path, us.Group); err != nil {
			if us.GroupRequired {
				return fail(fmt.Errorf("syslog.unix_socket_group: %w", err))
			}
			log.Info("unix socket left in the agent's group", "path", path, "reason", err)
		}
	}
	u.udpListener, err = newDatagramListener(sock, "unix", path, maxLen, rcvbuf, log)
	if err != nil {
		return fail(err)
	}
	qlen, wmem := readSysctl("net/unix/max_dgram_qlen", 10), readSysctl("net/core/wmem_default", 212992)
	u.queueLen = unixQueue(qlen, wmem)
	if u.queueLen < minGatherQueue {
		log.Info("net.unix.max_dgram_qlen is small: the unix socket is read as each datagram arrives (more CPU); raise it to 512 or more (sysctl)",
			"path", path, "max_dgram_qlen", qlen, "queued_datagrams", u.queueLen)
	}
	return u, nil
}

// minGatherQueue: a datagram queue shorter than this is read as each
// datagram arrives, not in gathered batches: 1 ms of gathering would
// overflow a queue of 10 (the kernel's default net.unix.max_dgram_qlen;
// systemd raises it to 512) at 10,000 logs/s.
const minGatherQueue = 64

// unixTruesize is what one queued log datagram of up to about 600 bytes
// takes of its sender's send buffer on Linux (measured: 1,275 bytes; a
// 100-byte one 766), which holds every datagram sent and not yet read.
const unixTruesize = 1280

// unixQueue is how many log datagrams a unix datagram socket holds before
// the sender's send fails: one more than net.unix.max_dgram_qlen, but no
// more than the sender's send buffer holds. HAProxy keeps the default
// send buffer, net.core.wmem_default (212,992 bytes: 166 datagrams), so
// raising max_dgram_qlen beyond that buys nothing without raising
// wmem_default too.
func unixQueue(qlen, wmemDefault int) int {
	return max(min(qlen+1, wmemDefault/unixTruesize), 1)
}

// readSysctl reads the integer /proc/sys/NAME; def when unreadable.
func readSysctl(name string, def int) int {
	b, err := os.ReadFile("/proc/sys/" + name)
	if err != nil {
		return def
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || n <= 0 {
		return def
	}
	return n
}

// chgrp gives path to group.
func chgrp(path, group string) error {
	g, err := user.LookupGroup(group)
	if err != nil {
		return err
	}
	gid, err := strconv.Atoi(g.Gid)
	if err != nil {
		return fmt.Errorf("group %s: gid %q", group, g.Gid)
	}
	if err := os.Chown(path, -1, gid); err != nil {
		return fmt.Errorf("group %s: %w (the agent's user must be a member of it)", group, err)
	}
	return nil
}

// removeStaleSocket removes the socket file at path if nobody is bound to
// it and it belongs to this user (or the agent runs as root). Nothing at
// path is fine; anything else is an error naming what is there.
func removeStaleSocket(path string) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if fi.Mode().Type() != fs.ModeSocket {
		return fmt.Errorf("%s exists and is not a socket (%s); not removing it", path, fi.Mode().Type())
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && os.Geteuid() != 0 && int(st.Uid) != os.Geteuid() {
		return fmt.Errorf("socket %s belongs to uid %d, not this user; not removing it", path, st.Uid)
	}
	d := net.Dialer{Timeout: time.Second}
	c, err := d.DialContext(context.Background(), "unixgram", path)
	if err == nil {
		c.Close()
		return fmt.Errorf("socket %s is in use by another process (another agent?)", path)
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		return fmt.Errorf("socket %s: cannot tell whether it is in use: %w", path, err)
	}
	if err := os.Remove(path); err != nil {
		return fmt.Errorf("removing stale socket: %w", err)
	}
	return nil
}

// unlink removes the socket file if it is still the one bound (a later
// agent may have replaced it).
func (u *unixgramListener) unlink() {
	if fi, err := os.Lstat(u.path); err == nil && os.SameFile(fi, u.file) {
		os.Remove(u.path)
	}
}

// close closes the socket and removes its file.
func (u *unixgramListener) close() error {
	err := u.udpListener.close()
	u.unlink()
	return err
}
