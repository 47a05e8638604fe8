package spool

import (
	"crypto/rand"
	"strings"
	"time"
)

// Spool file names. Every sealed segment's name holds the time that names
// its object and the random suffix chosen when it was sealed, so its object
// key is fixed by the name alone:
//
//	window-20261125T061000Z.active              the active window (its scheduled end)
//	window-20261125T061000Z-k3v9x0qa.log         a sealed segment
//	sealed-through-20261125T061000Z              the latest key end ever sealed
//
// The sealed-through marker keeps key ends strictly increasing across
// restarts: a segment is never sealed under an end that an earlier segment,
// uploaded and deleted since, already used.
const (
	namePrefix    = "window-"
	activeSuffix  = ".active"
	sealedSuffix  = ".log"
	throughPrefix = "sealed-through-"
	endLayout     = "20060102T150405Z"
	randLen       = 8

	randSuffixLetters = "abcdefghijklmnopqrstuvwxyz0123456789"
)

// Segment is a sealed window waiting for upload.
type Segment struct {
	Path string
	// End names the object: the window's scheduled end, or the moment an
	// early seal (shutdown) closed the window.
	End  time.Time
	Rand string // random suffix chosen once, at seal time
	Size int64
}

func parseActive(name string) (time.Time, bool) {
	if !strings.HasPrefix(name, namePrefix) || !strings.HasSuffix(name, activeSuffix) {
		return time.Time{}, false
	}
	t, err := time.Parse(endLayout, strings.TrimSuffix(strings.TrimPrefix(name, namePrefix), activeSuffix))
	return t.UTC(), err == nil
}

// parseSealed reads window-END-RAND.log.
func parseSealed(name string) (end time.Time, rnd string, ok bool) {
	if !strings.HasPrefix(name, namePrefix) || !strings.HasSuffix(name, sealedSuffix) {
		return time.Time{}, "", false
	}
	mid := strings.TrimSuffix(strings.TrimPrefix(name, namePrefix), sealedSuffix)
	i := strings.LastIndexByte(mid, '-')
	if i < 0 || len(mid)-i-1 != randLen {
		return time.Time{}, "", false
	}
	t, err := time.Parse(endLayout, mid[:i])
	if err != nil {
		return time.Time{}, "", false
	}
	return t.UTC(), mid[i+1:], true
}

// randomSuffix returns randLen random lowercase letters and digits.
func randomSuffix() string {
	b := make([]byte, randLen)
	rand.Read(b) // never fails (crypto/rand)
	for i := range b {
		b[i] = randSuffixLetters[int(b[i])%len(randSuffixLetters)]
	}
	return string(b)
}
