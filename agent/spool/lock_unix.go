//go:build unix

package spool

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// lockDir takes an exclusive, non-blocking flock on the directory dir
// itself (no lock file: a second instance must change nothing). The lock is
// held as long as the returned file is open and is released by the kernel
// when the process dies, however it dies.
func lockDir(dir string) (*os.File, error) {
	d, err := os.Open(dir)
	if err != nil {
		return nil, fmt.Errorf("spool: open %s to lock it: %w", dir, err)
	}
	if err := syscall.Flock(int(d.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		d.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("spool %s: %w", dir, ErrLocked)
		}
		return nil, fmt.Errorf("spool: lock %s: %w", dir, err)
	}
	return d, nil
}
