package agent

import (
	"bytes"
	"context"
	"fmt"
	"html"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/elb-access-logger/elb-access-logger/internal/testbed"
)

// chromium finds Debian's headless-capable Chromium; without it the test
// skips with the reason (fails under ELB_TEST_DISALLOW_SKIP: make test
// installs it, see packaging-deps in the Makefile).
func chromium(t *testing.T) string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	testbed.Skip(t, "no chromium in PATH: apt-get install chromium (the status page is checked in a real browser)")
	return ""
}

// browse runs headless Chromium on url with args (--dump-dom,
// --screenshot=...) and returns its standard output.
func browse(t *testing.T, bin, url string, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	args = append([]string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--hide-scrollbars",
		"--no-first-run", "--user-data-dir=" + t.TempDir()}, append(args, url)...)
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = t.TempDir() // --screenshot without a path writes here
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s", bin, strings.Join(args, " "), err, stderr.Bytes())
	}
	return stdout.Bytes()
}

var (
	tags   = regexp.MustCompile(`(?s)<style.*?</style>|<[^>]*>`)
	spaces = regexp.MustCompile(`\s+`)
)

// renderedText is the text a person reads in a dumped DOM: tags dropped,
// entities decoded, white space collapsed.
func renderedText(dom []byte) string {
	return strings.TrimSpace(spaces.ReplaceAllString(html.UnescapeString(tags.ReplaceAllString(string(dom), " ")), " "))
}

// TestStatusPageInBrowser loads GET / of a running agent in headless
// Chromium, reads the rendered text and compares it with the agent's state
// (GET /status), then takes a screenshot. ELB_STATUS_SCREENSHOT=PATH keeps
// it (docs/images/status.png is made so).
func TestStatusPageInBrowser(t *testing.T) {
	bin := chromium(t)
	c := testConfig(t)
	// A window that stays open while the browser reads: it ends on
	// 1 January, so no seal moves the counts between the page and /status.
	c.Schedule = "0 0 0 1 1 *"
	up := newMemUploader()
	var a *Agent
	conn, cancel, done := startAgent(t, c, up, func(x *Agent) { a = x })
	defer func() { cancel(); <-done }()
	const n = 7
	for i := range n {
		sendLine(t, conn, fmt.Sprintf("browser-%d", i))
	}
	waitFor(t, "the lines in the open window", func() bool { return getStatus(t, a).Window.Lines == n })
	url := "http://" + a.MetricsAddr().String() + "/"

	text := renderedText(browse(t, bin, url, "--dump-dom"))
	st := getStatus(t, a)
	l := st.Listeners[0]
	for _, want := range []string{
		"elb-access-logger",
		"Health healthy",
		st.Health,
		"load balancer " + st.Identity.LoadBalancer.Value + " " + st.Identity.LoadBalancer.Origin,
		"account " + st.Identity.Account.Value,
		"bucket " + st.Identity.Bucket.Value,
		fmt.Sprintf("%s %d ", l.Name, l.Messages),
		fmt.Sprintf("lines %d", st.Window.Lines),
		"ends " + st.Window.End.Format("2006-01-02 15:04:05 UTC"),
		"segments 0",
		"directory " + st.Spool.Dir,
		"last none yet",
		"Last errors none since start",
		"successful",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("the page as rendered lacks %q\nrendered text: %s", want, text)
		}
	}

	if testing.Short() {
		return
	}
	dir := t.TempDir()
	shot := filepath.Join(dir, "status.png")
	browse(t, bin, url, "--screenshot="+shot, "--window-size=820,1320")
	b, err := os.ReadFile(shot)
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil || img.Bounds().Dx() != 820 {
		t.Fatalf("screenshot: %v, %v", err, img.Bounds())
	}
	if keep := os.Getenv("ELB_STATUS_SCREENSHOT"); keep != "" {
		if err := os.WriteFile(keep, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
