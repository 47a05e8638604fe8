package ingest

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// defaultProcNet is where the kernel lists its UDP sockets.
const defaultProcNet = "/proc/net"

// udpDrops returns the kernel's receive-drop count of the UDP socket with
// the given inode, from the drops column of procNet/udp and procNet/udp6.
// found is false when no socket has that inode (it was closed).
func udpDrops(procNet string, inode uint64) (drops uint64, found bool, err error) {
	for _, name := range []string{"udp", "udp6"} {
		f, err := os.Open(filepath.Join(procNet, name))
		if err != nil {
			if os.IsNotExist(err) {
				continue // no IPv6
			}
			return 0, false, fmt.Errorf("udp drops: %w", err)
		}
		drops, found, err = scanUDPDrops(f, inode)
		f.Close()
		if err != nil {
			return 0, false, fmt.Errorf("udp drops: %s: %w", f.Name(), err)
		}
		if found {
			return drops, true, nil
		}
	}
	return 0, false, nil
}

// scanUDPDrops reads a /proc/net/udp table:
//
//	sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode ref pointer drops
func scanUDPDrops(r io.Reader, inode uint64) (uint64, bool, error) {
	sc := bufio.NewScanner(r)
	want := strconv.FormatUint(inode, 10)
	for n := 1; sc.Scan(); n++ {
		f := strings.Fields(sc.Text())
		if n == 1 || len(f) < 13 || f[9] != want {
			continue
		}
		d, err := strconv.ParseUint(f[12], 10, 64)
		if err != nil {
			return 0, false, fmt.Errorf("line %d: drops %q is not a count", n, f[12])
		}
		return d, true, nil
	}
	return 0, false, sc.Err()
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
