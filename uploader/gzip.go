package uploader

import (
	"compress/gzip"
	"fmt"
	"io"
	"os"
)

// gzipped is the compressed body of a Gzip object, in a temporary file.
type gzipped struct {
	f    *os.File
	size int64
}

// remove closes and removes the temporary file.
func (g gzipped) remove() {
	g.f.Close()
	os.Remove(g.f.Name())
}

// gzipBody compresses o.Size bytes of o.Body, from where it stands, into a
// temporary file in the client's TempDir (its name starts with '.' and
// ends in ".tmp", which the spool removes at start should the agent die
// while it exists) and returns it rewound. The body is read once.
func (c *Client) gzipBody(o Object) (gzipped, error) {
	f, err := os.CreateTemp(c.tempDir, ".gzip-*.tmp")
	if err != nil {
		return gzipped{}, fmt.Errorf("gzip body: %w", err)
	}
	g := gzipped{f: f}
	zw, _ := gzip.NewWriterLevel(f, gzip.BestSpeed) // a valid level: no error
	n, err := io.Copy(zw, io.LimitReader(o.Body, o.Size))
	if err == nil && n != o.Size {
		err = fmt.Errorf("body ended after %d of %d bytes", n, o.Size)
	}
	if err == nil {
		err = zw.Close()
	}
	if err == nil {
		g.size, err = f.Seek(0, io.SeekCurrent)
	}
	if err == nil {
		_, err = f.Seek(0, io.SeekStart)
	}
	if err != nil {
		g.remove()
		return gzipped{}, fmt.Errorf("gzip body: %w", err)
	}
	return g, nil
}
