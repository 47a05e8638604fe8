package parser

import "time"

// secondCache remembers the last date text a parser read, up to the
// second, and the time it stands for. HAProxy stamps line after line with
// the same second, so most lines cost one comparison instead of a parse
// and a time.Date. A nil *secondCache caches nothing.
type secondCache struct {
	text [24]byte
	n    int // bytes of text in use; 0 when empty
	t    time.Time
}

// get returns the time put for text, if text is what was put last.
func (c *secondCache) get(text []byte) (time.Time, bool) {
	if c == nil || c.n == 0 || string(text) != string(c.text[:c.n]) {
		return time.Time{}, false
	}
	return c.t, true
}

// put remembers that text, a valid date, stands for t.
func (c *secondCache) put(text []byte, t time.Time) {
	if c == nil || len(text) == 0 || len(text) > len(c.text) {
		return
	}
	c.n = copy(c.text[:], text)
	c.t = t
}
