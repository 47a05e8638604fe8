package ingest

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"

	"github.com/prometheus/procfs"
)

// defaultProcNet is where the kernel lists its UDP sockets.
const defaultProcNet = "/proc/net"

// udpDrops returns the kernel's receive-drop count of the UDP socket with
// the given inode, from the drops column of procNet/udp and procNet/udp6
// (read by prometheus/procfs). found is false when no socket has that inode
// (it was closed).
func udpDrops(procNet string, inode uint64) (drops uint64, found bool, err error) {
	proc, err := procfs.NewFS(filepath.Dir(procNet))
	if err != nil {
		return 0, false, fmt.Errorf("udp drops: %w", err)
	}
	for _, table := range []struct {
		name string
		read func() (procfs.NetUDP, error)
	}{{"udp", proc.NetUDP}, {"udp6", proc.NetUDP6}} {
		lines, err := table.read()
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				continue // no IPv6
			}
			return 0, false, fmt.Errorf("udp drops: %s: %w", filepath.Join(procNet, table.name), err)
		}
		for _, l := range lines {
			if l.Inode == inode && l.Drops != nil {
				return *l.Drops, true, nil
			}
		}
	}
	return 0, false, nil
}

// kernelDrops is the running total of receive drops of one listener
// address across the sockets bound to it (a rebind opens a new socket,
// whose kernel count starts again at 0).
type kernelDrops struct {
	inode uint64
	last  uint64 // the socket's count when last read
	total uint64
}

// update folds the current count of the socket conn into the total.
func (k *kernelDrops) update(procNet string, sock *udpSocket) error {
	ino, err := sock.inode()
	if err != nil {
		return err
	}
	d, found, err := udpDrops(procNet, ino)
	if err != nil || !found {
		return err
	}
	if ino != k.inode {
		k.inode, k.last = ino, 0
	}
	if d < k.last {
		k.last = d
	}
	k.total += d - k.last
	k.last = d
	return nil
}
