package spool

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// FS is the filesystem every durable file of the spool directory goes
// through: windows, segments, counts sidecars, markers and the small state
// files of other components (WriteFileAtomic, ReadFile). The default is the
// real one (OSFS); tests put a wrapper here to inject faults such as ENOSPC
// (spooltest.FaultFS).
type FS interface {
	OpenFile(name string, flag int, perm fs.FileMode) (File, error)
	Rename(oldpath, newpath string) error
	Remove(name string) error
	ReadDir(name string) ([]fs.DirEntry, error)
	MkdirAll(path string, perm fs.FileMode) error
	Truncate(name string, size int64) error
}

// File is an open spool file.
type File interface {
	io.Reader
	io.Writer
	io.ReaderAt
	io.Seeker
	Sync() error
	Close() error
	Stat() (fs.FileInfo, error)
	Name() string
}

// OSFS is the operating system's filesystem.
type OSFS struct{}

var _ FS = OSFS{}

// OpenFile opens name with os.OpenFile.
func (OSFS) OpenFile(name string, flag int, perm fs.FileMode) (File, error) {
	f, err := os.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err // a nil *os.File must not become a non-nil File
	}
	return f, nil
}

// Rename is os.Rename.
func (OSFS) Rename(o, n string) error { return os.Rename(o, n) }

// Remove is os.Remove.
func (OSFS) Remove(name string) error { return os.Remove(name) }

// ReadDir is os.ReadDir.
func (OSFS) ReadDir(name string) ([]fs.DirEntry, error) { return os.ReadDir(name) }

// MkdirAll is os.MkdirAll.
func (OSFS) MkdirAll(path string, perm fs.FileMode) error { return os.MkdirAll(path, perm) }

// Truncate is os.Truncate.
func (OSFS) Truncate(name string, size int64) error { return os.Truncate(name, size) }

// orOS returns fsys, or the real filesystem when it is nil.
func orOS(fsys FS) FS {
	if fsys == nil {
		return OSFS{}
	}
	return fsys
}

// SyncDir fsyncs a directory so that creations, renames and removals in it
// are durable. Filesystems that cannot fsync a directory are tolerated.
func SyncDir(fsys FS, dir string) error {
	d, err := orOS(fsys).OpenFile(dir, os.O_RDONLY, 0)
	if err != nil {
		return fmt.Errorf("spool: open dir %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, os.ErrInvalid) {
		return fmt.Errorf("spool: fsync dir %s: %w", dir, err)
	}
	return nil
}

// lastNewline returns the size of f's longest prefix that ends in '\n' (0
// when there is none): a file cut by a crash is trimmed to whole lines.
func lastNewline(f File, size int64) (int64, error) {
	buf := make([]byte, 32<<10)
	for end := size; end > 0; {
		start := max(end-int64(len(buf)), 0)
		b := buf[:end-start]
		if _, err := f.ReadAt(b, start); err != nil && !errors.Is(err, io.EOF) {
			return 0, err
		}
		for i := len(b) - 1; i >= 0; i-- {
			if b[i] == '\n' {
				return start + int64(i) + 1, nil
			}
		}
		end = start
	}
	return 0, nil
}

// tmpSuffix ends the name of every temporary file of an atomic write; Open
// removes those a crash left behind (after taking the directory's lock, so
// never another running agent's).
const tmpSuffix = ".tmp"

// WriteFileAtomic replaces dir/name with data through fsys (nil: the real
// filesystem): a temporary file in dir is written, fsynced, closed and
// renamed over name, then dir is fsynced. On any error the temporary file
// is removed and name is left as it was: a crash leaves the old content or
// the new one, never a torn file. Every small state file of the spool
// directory (provisioning, ELB API state) is written with it.
func WriteFileAtomic(fsys FS, dir, name string, data []byte) (err error) {
	fsys = orOS(fsys)
	tmp := filepath.Join(dir, "."+name+"-"+randomSuffix()+tmpSuffix)
	f, err := fsys.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o640)
	if err != nil {
		return fmt.Errorf("write %s in %s: %w", name, dir, err)
	}
	defer func() {
		if err != nil {
			fsys.Remove(tmp)
		}
	}()
	n, err := f.Write(data)
	if err == nil && n != len(data) {
		err = io.ErrShortWrite
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = fsys.Rename(tmp, filepath.Join(dir, name))
	}
	if err != nil {
		return fmt.Errorf("write %s in %s: %w", name, dir, err)
	}
	return SyncDir(fsys, dir)
}

// maxStateFile bounds what ReadFile reads: state files are small JSON.
const maxStateFile = 1 << 20

// ReadFile reads the small state file dir/name through fsys (nil: the real
// filesystem). A missing file is an error satisfying errors.Is(err,
// fs.ErrNotExist).
func ReadFile(fsys FS, dir, name string) ([]byte, error) {
	path := filepath.Join(dir, name)
	f, err := orOS(fsys).OpenFile(path, os.O_RDONLY, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.NewSectionReader(f, 0, maxStateFile))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return b, nil
}

// isTemp reports whether name is a temporary file of WriteFileAtomic or of
// a counts sidecar.
func isTemp(name string) bool {
	return strings.HasSuffix(name, tmpSuffix)
}
