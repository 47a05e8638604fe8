//go:build !unix

package spool

import "os"

// lockDir is a no-op where flock does not exist: one agent per spool
// directory is then the operator's to ensure.
func lockDir(dir string) (*os.File, error) { return nil, nil }
