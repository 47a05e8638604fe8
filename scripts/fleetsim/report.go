package main

import (
	"fmt"
	"io"
	"runtime"
	"sort"
	"strings"
	"time"
)

// report writes the results as Markdown, ready for docs/performance.md.
func report(w io.Writer, o options, results []phaseResult, v verification) {
	fmt.Fprintf(w, "Run %s: %d nodes (%d per load balancer and bucket), %d windows of %v per phase, %d lines per node and window, GOMAXPROCS %d.\n\n",
		time.Now().UTC().Format("2006-01-02 15:04 UTC"), o.nodes, o.perLB, o.windows, o.window, o.lines, runtime.GOMAXPROCS(0))
	fmt.Fprintln(w, "| phase | PUTs | mean PUT/s | peak PUT/s | peak/mean | provisioning calls | peak prov./s | PUT p50 | PUT p99 | errors | failed uploads |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|")
	for _, r := range results {
		c := r.counts
		// The mean is the rate a perfectly even fleet would send: every
		// window's PUTs spread over the window.
		mean := float64(c.totalPuts) / (float64(o.windows) * o.window.Seconds())
		peak := maxOf(c.puts)
		ratio := 0.0
		if mean > 0 {
			ratio = float64(peak) / mean
		}
		fmt.Fprintf(w, "| %s | %d | %.1f | %d | %.2f | %d | %d | %v | %v | %s | %d |\n",
			r.name, c.totalPuts, mean, peak, ratio, c.totalProvs, maxOf(c.provs),
			quantile(c.latencies, 0.5).Round(time.Millisecond), quantile(c.latencies, 0.99).Round(time.Millisecond),
			errorList(c.errors), r.uploadsFailed)
	}
	fmt.Fprintln(w)
	for _, r := range results {
		c := r.counts
		fmt.Fprintf(w, "%s: agents started in %v; windows ending %s.\n\n", r.name, r.startup.Round(time.Millisecond), times(r.windowEnds))
		fmt.Fprintf(w, "    PUTs per second:        %s\n", series(c.puts))
		fmt.Fprintf(w, "    provisioning per second: %s\n\n", series(c.provs))
		if r.incomplete > 0 {
			fmt.Fprintf(w, "%d nodes had not uploaded every window 2 minutes after the last was due.\n\n", r.incomplete)
		}
	}
	fmt.Fprintf(w, "Store after all phases, in %d buckets: %d log objects (want %d: %d missing, %d extra), %d test files, %d of %d lines (%d lost, %d duplicated).\n",
		v.buckets, v.objects, v.wantObjects, v.missingObjects, v.extraObjects, v.testFiles, v.lines, v.wantLines, v.lost, v.duplicated)
}

func maxOf(s []int) int {
	m := 0
	for _, v := range s {
		m = max(m, v)
	}
	return m
}

// series prints per-second counts, the quiet seconds at the start left out.
func series(s []int) string {
	first := 0
	for first < len(s) && s[first] == 0 {
		first++
	}
	if first == len(s) {
		return "none"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "from second %d:", first)
	for _, v := range s[first:] {
		fmt.Fprintf(&b, " %d", v)
	}
	return b.String()
}

func errorList(m map[string]int) string {
	if len(m) == 0 {
		return "none"
	}
	var out []string
	for k, v := range m {
		out = append(out, fmt.Sprintf("%d %s", v, k))
	}
	sort.Strings(out)
	return strings.Join(out, ", ")
}

func times(ts []time.Time) string {
	var out []string
	for _, t := range ts {
		out = append(out, t.Format(time.TimeOnly))
	}
	return strings.Join(out, ", ")
}
