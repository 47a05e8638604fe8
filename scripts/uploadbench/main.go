// Command uploadbench is the upload phase of scripts/bench.sh: it writes a
// window file of realistic ELB access-log lines, and uploads a file through
// the agent's own upload path (uploader.Client.Put, as agent/upload.go
// calls it for a sealed segment: the open file as the body, READ granted to
// the load balancer owner, Content-MD5), so the time is the upload's alone,
// with no parsing.
//
//	uploadbench make -out FILE -size 100MB
//	uploadbench put -endpoint URL -bucket B -key K -owner ID -file FILE
//	uploadbench drain -endpoint URL -bucket B -stop FILE
//
// put reads the credentials from AWS_ACCESS_KEY_ID and
// AWS_SECRET_ACCESS_KEY (never from the command line, which others can
// read), creates the bucket when missing, and prints one line to stdout:
// bytes=N seconds=S (S is Put alone, the bucket check and the uploader's
// own id being fetched before the clock starts).
//
// drain is the reader of the end-to-end phase (drain.go): it downloads
// and deletes the bucket's objects as they appear, until FILE exists and
// the bucket stays empty, then prints objects=N lines=N bytes=N
// largest=N.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/elb-access-logger/elb-access-logger/uploader"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: uploadbench make|put|drain [flags]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "make":
		err = makeCmd(os.Args[2:])
	case "put":
		err = putCmd(os.Args[2:])
	case "drain":
		err = drainCmd(os.Args[2:])
	default:
		err = fmt.Errorf("unknown command %q: want make, put or drain", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "uploadbench:", err)
		os.Exit(1)
	}
}

func makeCmd(args []string) error {
	fs := flag.NewFlagSet("make", flag.ExitOnError)
	out := fs.String("out", "window.log", "file to write")
	size := fs.String("size", "100MB", "size of the file: bytes, or with KB, MB, GB (powers of 1000)")
	_ = fs.Parse(args)
	n, err := parseSize(*size)
	if err != nil {
		return err
	}
	return writeWindow(*out, n)
}

// parseSize reads 100MB, 64KB, 1GB or a plain byte count.
func parseSize(s string) (int64, error) {
	mult := int64(1)
	num := s
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"GB", 1e9}, {"MB", 1e6}, {"KB", 1e3}} {
		if strings.HasSuffix(s, u.suffix) {
			num, mult = strings.TrimSuffix(s, u.suffix), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("size %q: want a positive number of bytes, or with KB, MB or GB", s)
	}
	return n * mult, nil
}

// writeWindow writes at least size bytes of ELB lines to path, whole lines,
// each from its own client address and with its own request path, as one
// five-minute window of a busy load balancer would hold.
func writeWindow(path string, size int64) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("create window: %w", err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	start := time.Date(2026, 11, 25, 18, 0, 0, 0, time.UTC)
	base := netip.MustParseAddr("10.0.0.0").As4()
	var b []byte
	var written int64
	for seq := uint64(0); written < size; seq++ {
		b = appendLine(b[:0], seq, start, base)
		if _, err := w.Write(b); err != nil {
			f.Close()
			return fmt.Errorf("write window %s: %w", path, err)
		}
		written += int64(len(b))
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return fmt.Errorf("write window %s: %w", path, err)
	}
	return f.Close()
}

// appendLine appends ELB line seq: a classic ELB HTTP access-log entry.
func appendLine(b []byte, seq uint64, start time.Time, base [4]byte) []byte {
	t := start.Add(time.Duration(seq%300_000_000) * time.Microsecond)
	b = t.AppendFormat(b, "2006-01-02T15:04:05.000000Z")
	b = append(b, " bench "...)
	ip := base
	ip[1], ip[2], ip[3] = byte(seq>>16), byte(seq>>8), byte(seq)
	b = netip.AddrFrom4(ip).AppendTo(b)
	b = append(b, ':')
	b = strconv.AppendUint(b, 1024+seq%60000, 10)
	b = append(b, " 172.31.0.12:80 0.000031 0.006120 0.000022 200 200 0 "...)
	b = strconv.AppendUint(b, 180+seq%4000, 10)
	b = append(b, ` "GET http://bench-1234567890.us-east-1.elb.example.com:80/item/`...)
	b = strconv.AppendUint(b, seq, 10)
	b = append(b, "?q=bench HTTP/1.1\" \"Mozilla/5.0 (X11; Linux x86_64) bench/1.0\" - -\n"...)
	return b
}

func putCmd(args []string) error {
	fs := flag.NewFlagSet("put", flag.ExitOnError)
	endpoint := fs.String("endpoint", "", "store endpoint, e.g. http://127.0.0.1:7480")
	region := fs.String("region", "us-east-1", "signing region")
	bucket := fs.String("bucket", "", "bucket (created when missing)")
	key := fs.String("key", "window.log", "object key")
	owner := fs.String("owner", "", "canonical id granted READ on the object (the load balancer owner)")
	file := fs.String("file", "", "file to upload")
	_ = fs.Parse(args)
	if *endpoint == "" || *bucket == "" || *file == "" {
		return errors.New("put: -endpoint, -bucket and -file are required")
	}
	c, err := uploader.New(uploader.Options{
		Endpoint:        *endpoint,
		Region:          *region,
		PathStyle:       true,
		AccessKeyID:     os.Getenv("AWS_ACCESS_KEY_ID"),
		SecretAccessKey: os.Getenv("AWS_SECRET_ACCESS_KEY"),
	})
	if err != nil {
		return err
	}
	ctx := context.Background()
	// What the agent has done before its first upload: the bucket exists
	// and the uploader's own id is known (a tiny Put learns it).
	if err := c.EnsureBucket(ctx, *bucket); err != nil {
		return err
	}
	warm := strings.NewReader("warm-up\n")
	if err := c.Put(ctx, uploader.Object{Bucket: *bucket, Key: *key + ".warm", Body: warm, Size: warm.Size(), OwnerAccount: *owner}); err != nil {
		return err
	}
	f, err := os.Open(*file)
	if err != nil {
		return fmt.Errorf("put: %w", err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return fmt.Errorf("put: %w", err)
	}
	t0 := time.Now()
	err = c.Put(ctx, uploader.Object{Bucket: *bucket, Key: *key, Body: f, Size: info.Size(), OwnerAccount: *owner})
	d := time.Since(t0)
	if err != nil {
		return err
	}
	fmt.Printf("bytes=%d seconds=%.3f\n", info.Size(), d.Seconds())
	return nil
}
