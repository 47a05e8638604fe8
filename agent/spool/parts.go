package spool

import (
	"crypto/md5"
	"encoding/hex"
	"hash"
	"strconv"
	"strings"
)

// Part digests: the spool hashes the active file's bytes as it writes
// them, while they are still in the CPU's cache, in parts of the size the
// uploader sends, and seals the digests into the segment's sidecar. An
// upload then sends each part's Content-MD5 without reading the file a
// second time only to hash it (issue 20 item 7). A file whose bytes the
// spool did not all write itself (continued after a restart) has none,
// and the uploader hashes it as before.

// PartSums are the MD5 digests of a segment's parts: MD5[i] is the digest
// of bytes [i*PartBytes, min((i+1)*PartBytes, Bytes)). PartBytes 0 means
// none are known.
type PartSums struct {
	PartBytes int64
	Bytes     int64
	MD5       [][md5.Size]byte
}

// Known reports whether s holds digests covering exactly size bytes.
func (s PartSums) Known(size int64) bool {
	return s.PartBytes > 0 && size > 0 && s.Bytes == size &&
		int64(len(s.MD5)) == (size+s.PartBytes-1)/s.PartBytes
}

// partHasher hashes the active file as it is written.
type partHasher struct {
	part  int64 // part size; 0: the active file's digests are not kept
	h     hash.Hash
	n     int64 // bytes of the current part in h
	total int64 // bytes hashed
	sums  [][md5.Size]byte
}

// reset starts hashing a new file in parts of part bytes (0: not at all).
func (p *partHasher) reset(part int64) {
	p.part, p.n, p.total, p.sums = part, 0, 0, nil
	if part > 0 && p.h == nil {
		p.h = md5.New()
	}
	if p.h != nil {
		p.h.Reset()
	}
}

// write hashes b, the bytes that just reached the file after the others.
func (p *partHasher) write(b []byte) {
	for p.part > 0 && len(b) > 0 {
		k := min(int64(len(b)), p.part-p.n)
		p.h.Write(b[:k])
		p.n += k
		p.total += k
		b = b[k:]
		if p.n == p.part {
			p.sums = append(p.sums, [md5.Size]byte(p.h.Sum(nil)))
			p.h.Reset()
			p.n = 0
		}
	}
}

// finish returns the digests of the file's size bytes, or none when the
// hasher did not see exactly them, and stops hashing.
func (p *partHasher) finish(size int64) PartSums {
	if p.part > 0 && p.n > 0 {
		p.sums = append(p.sums, [md5.Size]byte(p.h.Sum(nil)))
	}
	s := PartSums{PartBytes: p.part, Bytes: p.total, MD5: p.sums}
	p.reset(0)
	if !s.Known(size) {
		return PartSums{}
	}
	return s
}

// SetPartBytes sets the part size the active file is hashed in (the
// uploader's objectstorage.part_size_bytes); 0 stops hashing (a gzip
// destination sends other bytes). A file already written to under another
// size gets no digests: the uploader hashes it.
func (s *Spool) SetPartBytes(n int64) {
	n = max(n, 0)
	s.mu.Lock()
	defer s.mu.Unlock()
	if n == s.hashPart {
		return
	}
	s.hashPart = n
	if s.f != nil && s.activeSize == 0 && !s.torn {
		s.hash.reset(n)
	} else {
		s.hash.reset(0)
	}
}

// Sidecar names of the digests.
const (
	sumsPartKey  = "md5-part-bytes"
	sumsBytesKey = "md5-bytes"
	sumsKey      = "md5"
)

// marshal returns the sidecar lines of s, none when it is empty.
func (s PartSums) marshal() string {
	if s.PartBytes <= 0 {
		return ""
	}
	hexes := make([]string, len(s.MD5))
	for i, d := range s.MD5 {
		hexes[i] = hex.EncodeToString(d[:])
	}
	return sumsPartKey + "=" + strconv.FormatInt(s.PartBytes, 10) + "\n" +
		sumsBytesKey + "=" + strconv.FormatInt(s.Bytes, 10) + "\n" +
		sumsKey + "=" + strings.Join(hexes, ",") + "\n"
}

// parse takes one sidecar line's name and value; it reports whether the
// name was one of the digests'. A value it cannot read makes the digests
// unknown (the uploader hashes the segment), never the counts unreadable.
func (s *PartSums) parse(k, v string) bool {
	switch k {
	case sumsPartKey, sumsBytesKey:
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			n = -1 // never Known
		}
		if k == sumsPartKey {
			s.PartBytes = n
		} else {
			s.Bytes = n
		}
	case sumsKey:
		s.MD5 = nil
		for _, h := range strings.Split(v, ",") {
			var d [md5.Size]byte
			if len(h) != 2*md5.Size {
				s.PartBytes = -1
				return true
			}
			if _, err := hex.Decode(d[:], []byte(h)); err != nil {
				s.PartBytes = -1
				return true
			}
			s.MD5 = append(s.MD5, d)
		}
	default:
		return false
	}
	return true
}
