package main

import (
	"io"
	"os"
	"sync"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// withProgress wraps in with a progress bar on stderr when stderr is a
// terminal; otherwise (a pipe, a file, the journal) it returns in
// unchanged and prints nothing. The bar shows bytes read of the file's size
// when in is a regular file, and a spinner with bytes read otherwise
// (stdin). done ends the bar's line.
func withProgress(in io.Reader, stderr io.Writer) (r io.Reader, done func()) {
	tty, ok := stderr.(*os.File)
	if !ok || !isTerminal(tty) {
		return in, func() {}
	}
	total := int64(-1) // unknown: a spinner
	if f, ok := in.(*os.File); ok {
		if info, err := f.Stat(); err == nil && info.Mode().IsRegular() {
			total = info.Size()
		}
	}
	bar := progressbar.NewOptions64(total,
		progressbar.OptionSetWriter(tty),
		progressbar.OptionSetDescription("replay"),
		progressbar.OptionShowBytes(true),
		progressbar.OptionSetWidth(30),
		progressbar.OptionThrottle(100_000_000), // 100ms between redraws
		progressbar.OptionShowCount(),
		progressbar.OptionOnCompletion(func() { io.WriteString(tty, "\n") }),
		progressbar.OptionSpinnerType(14),
	)
	reader := progressbar.NewReader(in, bar)
	var once sync.Once
	return &reader, func() { once.Do(func() { bar.Finish() }) }
}

// isTerminal reports whether f is a terminal (not merely a character
// device such as /dev/null).
func isTerminal(f *os.File) bool { return term.IsTerminal(int(f.Fd())) }
