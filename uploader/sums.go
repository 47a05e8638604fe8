package uploader

import (
	"crypto/md5"
	"io"
	"net/http"
)

// Sums are the MD5 digests of an object's body, known before the body is
// read (the agent's spool hashes lines as it writes them): MD5[i] is the
// digest of bytes [i*PartSize, min((i+1)*PartSize, Size)) of the body from
// its start. Put sends them as the Content-MD5 of a part, or of the whole
// object when it is one part, that they cover exactly, and hashes the body
// itself otherwise (another part size, a gzip body). A store that answers
// BadDigest to them gets the object again, hashed as read.
type Sums struct {
	PartSize, Size int64
	MD5            [][md5.Size]byte
}

// of returns the digest of bytes [off, off+n) of a body of size bytes, or
// nil when s does not hold it.
func (s Sums) of(off, n, size int64) []byte {
	if s.PartSize <= 0 || s.Size != size || off%s.PartSize != 0 || n != min(s.PartSize, size-off) {
		return nil
	}
	if i := off / s.PartSize; i < int64(len(s.MD5)) {
		return s.MD5[i][:]
	}
	return nil
}

// usable returns s when it may describe o's body: the body stands at its
// start and s covers o.Size bytes; else none.
func (s Sums) usable(o Object) Sums {
	if s.PartSize <= 0 || s.Size != o.Size || o.Body == nil {
		return Sums{}
	}
	if pos, err := o.Body.Seek(0, io.SeekCurrent); err != nil || pos != 0 {
		return Sums{}
	}
	return s
}

// badDigest reports whether the store may have refused a body's
// Content-MD5: BadDigest or InvalidDigest, or a 400 whose body (and with
// it the code) was lost (radosgw may close the connection as it answers).
func badDigest(err error) bool {
	switch apiCode(err) {
	case "BadDigest", "InvalidDigest":
		return true
	case "":
		return httpStatus(err) == http.StatusBadRequest
	}
	return false
}
