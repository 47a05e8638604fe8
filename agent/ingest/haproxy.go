package ingest

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"
)

// haproxyStatsTimeout bounds one "show info" on HAProxy's stats socket.
const haproxyStatsTimeout = 2 * time.Second

// haproxyDroppedLogs asks HAProxy's stats socket at path for "show info"
// and returns its DroppedLogs: the logs HAProxy could not send.
func haproxyDroppedLogs(ctx context.Context, path string) (int64, error) {
	ctx, cancel := context.WithTimeout(ctx, haproxyStatsTimeout)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", path)
	if err != nil {
		return 0, fmt.Errorf("haproxy stats socket: %w", err)
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	if _, err := conn.Write([]byte("show info\n")); err != nil {
		return 0, fmt.Errorf("haproxy stats socket %s: send show info: %w", path, err)
	}
	sc := bufio.NewScanner(conn)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok || strings.TrimSpace(k) != "DroppedLogs" {
			continue
		}
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("haproxy stats socket %s: DroppedLogs %q is not a count", path, strings.TrimSpace(v))
		}
		return n, nil
	}
	if err := sc.Err(); err != nil {
		return 0, fmt.Errorf("haproxy stats socket %s: read show info: %w", path, err)
	}
	return 0, fmt.Errorf("haproxy stats socket %s: show info has no DroppedLogs", path)
}

// pollHAProxy reads DroppedLogs when path (metrics.haproxy_stats_socket)
// is set and returns how many logs HAProxy dropped since the last read (0
// the first time).
func (in *Ingest) pollHAProxy(ctx context.Context, path string) int64 {
	if path == "" {
		return 0
	}
	n, err := haproxyDroppedLogs(ctx, path)
	if err != nil {
		in.count.haproxyErrors.Add(1)
		in.log.Warn("cannot read HAProxy's dropped logs", "err", err)
		return 0
	}
	prev := in.count.haproxyDropped.Swap(n)
	switch {
	case !in.count.haproxyRead.Swap(true):
		return 0 // the first read: no baseline
	case n < prev:
		return n // HAProxy restarted: its count started again
	}
	return n - prev
}
