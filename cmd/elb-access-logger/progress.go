package main

import (
	"fmt"
	"io"
	"os"
	"time"
)

// progressReader reports how much of a replay file was read, at most once
// per interval, on a terminal.
type progressReader struct {
	r        io.Reader
	out      io.Writer
	total    int64 // file size; 0 when unknown
	read     int64
	interval time.Duration
	last     time.Time
	now      func() time.Time
}

// withProgress wraps in when stderr is a terminal and in is a regular file;
// otherwise it returns in unchanged. done ends the progress line.
func withProgress(in io.Reader, stderr io.Writer) (r io.Reader, done func()) {
	f, ok := in.(*os.File)
	term, isFile := stderr.(*os.File)
	if !ok || !isFile || !isTerminal(term) {
		return in, func() {}
	}
	var total int64
	if info, err := f.Stat(); err == nil && info.Mode().IsRegular() {
		total = info.Size()
	}
	p := &progressReader{r: in, out: stderr, total: total, interval: 500 * time.Millisecond, now: time.Now}
	p.last = p.now()
	return p, func() {
		if p.read > 0 {
			p.report()
			fmt.Fprintln(p.out)
		}
	}
}

func isTerminal(f *os.File) bool {
	info, err := f.Stat()
	return err == nil && info.Mode()&os.ModeCharDevice != 0
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.read += int64(n)
	if now := p.now(); now.Sub(p.last) >= p.interval {
		p.last = now
		p.report()
	}
	return n, err
}

func (p *progressReader) report() {
	if p.total > 0 {
		fmt.Fprintf(p.out, "\rreplay: %3d%% (%d of %d bytes)", p.read*100/p.total, p.read, p.total)
		return
	}
	fmt.Fprintf(p.out, "\rreplay: %d bytes", p.read)
}
