package spool

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// WindowCounts is what one window received: the accounting stored beside
// its sealed segment and sent with its object as x-amz-meta-* headers, so a
// reader can tell how complete an object is.
type WindowCounts struct {
	Lines     int64 // lines written to the segment
	Unparsed  int64 // of them, kept verbatim: they matched no HAProxy format
	Truncated int64 // of them, cut short before HAProxy sent them (log ... len)
	// KernelDrops is how many datagrams the kernel dropped on the agent's
	// sockets while the window was open (receive buffer full).
	KernelDrops int64
	// HAProxyDropped is how many logs HAProxy could not send while the
	// window was open (DroppedLogs of its stats socket); 0 when not read.
	HAProxyDropped int64
	// SpoolEvicted is how many lines spool.max_bytes evicted (older
	// windows, or earlier pieces of this one) while the window was open:
	// the store was unreachable and the spool full.
	SpoolEvicted int64
	// Partial: the window was continued after a crash or restart, so the
	// counts cover only the part received since.
	Partial bool
	// Parts are the MD5s of the segment's parts, hashed as it was written
	// (not sent as metadata: the uploader's Content-MD5s).
	Parts PartSums
}

// countsSuffix names the sidecar of a sealed segment: its name plus this.
const countsSuffix = ".counts"

// countField pairs each sidecar and metadata name with its field.
func (c *WindowCounts) fields() []struct {
	name string
	v    *int64
} {
	return []struct {
		name string
		v    *int64
	}{
		{"lines", &c.Lines}, {"unparsed", &c.Unparsed}, {"truncated", &c.Truncated},
		{"kernel-drops", &c.KernelDrops}, {"haproxy-dropped", &c.HAProxyDropped}, {"spool-evicted", &c.SpoolEvicted},
	}
}

// Status is "complete", or "partial" when the window was continued after
// a crash or restart.
func (c WindowCounts) Status() string {
	if c.Partial {
		return "partial"
	}
	return "complete"
}

// marshal writes the sidecar form: name=value lines.
func (c WindowCounts) marshal() []byte {
	var b bytes.Buffer
	for _, f := range c.fields() {
		fmt.Fprintf(&b, "%s=%d\n", f.name, *f.v)
	}
	fmt.Fprintf(&b, "counts=%s\n", c.Status())
	b.WriteString(c.Parts.marshal())
	return b.Bytes()
}

// parseCounts reads a sidecar; name is its path, for errors.
func parseCounts(name string, data []byte) (WindowCounts, error) {
	var c WindowCounts
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		k, v, ok := strings.Cut(sc.Text(), "=")
		if !ok {
			return c, fmt.Errorf("%s:%d: want name=value", name, n)
		}
		if k == "counts" {
			c.Partial = v == "partial"
			continue
		}
		if c.Parts.parse(k, v) {
			continue
		}
		for _, f := range c.fields() {
			if f.name == k {
				i, err := strconv.ParseInt(v, 10, 64)
				if err != nil || i < 0 {
					return c, fmt.Errorf("%s:%d: %s: %q is not a count", name, n, k, v)
				}
				*f.v = i
			}
		}
	}
	if c.Parts.PartBytes <= 0 {
		c.Parts = PartSums{}
	}
	return c, nil
}

// Metadata is the x-amz-meta-* form of the counts (names without the
// prefix, which the SDK adds).
func (c WindowCounts) Metadata() map[string]string {
	m := map[string]string{"counts": c.Status()}
	for _, f := range c.fields() {
		m[f.name] = strconv.FormatInt(*f.v, 10)
	}
	return m
}

// ReadCounts reads the accounting of a sealed segment. ok is false when the
// segment has none (sealed from a file an earlier run left behind).
func ReadCounts(seg Segment) (c WindowCounts, ok bool, err error) { return readCounts(OSFS{}, seg) }

func readCounts(fsys FS, seg Segment) (c WindowCounts, ok bool, err error) {
	data, err := ReadFile(fsys, filepath.Dir(seg.Path), filepath.Base(seg.Path)+countsSuffix)
	if errors.Is(err, fs.ErrNotExist) {
		return c, false, nil
	}
	if err != nil {
		return c, false, fmt.Errorf("read counts of %s: %w", seg.Path, err)
	}
	c, err = parseCounts(seg.Path+countsSuffix, data)
	return c, err == nil, err
}

// writeCounts stores c as the sidecar of the segment that will be named
// sealed: written to a temporary name, fsynced and renamed, before the
// segment's own rename seals it, so a sealed segment never lacks the
// counts it was sealed with. The caller fsyncs the directory.
func writeCounts(fsys FS, sealed string, c WindowCounts) error {
	final := sealed + countsSuffix
	tmp := final + ".tmp"
	f, err := fsys.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o640)
	if err != nil {
		return fmt.Errorf("spool: create %s: %w", tmp, err)
	}
	_, err = f.Write(c.marshal())
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = fsys.Rename(tmp, final)
	}
	if err != nil {
		fsys.Remove(tmp)
		return fmt.Errorf("spool: write counts %s: %w", final, err)
	}
	return nil
}
