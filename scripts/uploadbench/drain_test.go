package main

import (
	"context"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
)

// fakeStore is a bucket whose objects a test adds while drain runs.
type fakeStore struct {
	mu      sync.Mutex // guards objects, exists, listed
	objects map[string]string
	exists  bool
	listed  int
}

func (f *fakeStore) put(key, body string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.exists = true
	f.objects[key] = body
}

func (f *fakeStore) ListObjectsV2(_ context.Context, in *s3.ListObjectsV2Input, _ ...func(*s3.Options)) (*s3.ListObjectsV2Output, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.listed++
	if !f.exists {
		return nil, &smithy.GenericAPIError{Code: "NoSuchBucket"}
	}
	out := &s3.ListObjectsV2Output{}
	for k := range f.objects {
		out.Contents = append(out.Contents, types.Object{Key: aws.String(k)})
	}
	return out, nil
}

func (f *fakeStore) GetObject(_ context.Context, in *s3.GetObjectInput, _ ...func(*s3.Options)) (*s3.GetObjectOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return &s3.GetObjectOutput{Body: io.NopCloser(strings.NewReader(f.objects[aws.ToString(in.Key)]))}, nil
}

func (f *fakeStore) DeleteObject(_ context.Context, in *s3.DeleteObjectInput, _ ...func(*s3.Options)) (*s3.DeleteObjectOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.objects, aws.ToString(in.Key))
	return &s3.DeleteObjectOutput{}, nil
}

func TestDrainCountsAndDeletesUntilStoppedAndEmpty(t *testing.T) {
	f := &fakeStore{objects: map[string]string{}}
	var mu sync.Mutex // guards stop
	stop := false
	go func() {
		// The bucket appears late; objects arrive while drain runs; the
		// last one just before the stop.
		time.Sleep(20 * time.Millisecond)
		f.put("elb-access-1.log", "a\nb\nc\n")
		f.put("test-file", "x\n")
		time.Sleep(20 * time.Millisecond)
		f.put("elb-access-2.log", strings.Repeat("line\n", 1000))
		f.put("elb-access-3.log", "z\n")
		mu.Lock()
		stop = true
		mu.Unlock()
	}()
	stopped := func() bool { mu.Lock(); defer mu.Unlock(); return stop }
	got, err := drain(context.Background(), f, "b", stopped, time.Millisecond, 30*time.Millisecond, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	want := drainTotals{objects: 3, lines: 1004, bytes: 6 + 5000 + 2, largest: 5000, other: 1}
	if got != want {
		t.Errorf("drain = %v, want %v", got, want)
	}
	if len(f.objects) != 0 {
		t.Errorf("left in the bucket: %v", f.objects)
	}
}

func TestDrainGivesUpAfterMaxWait(t *testing.T) {
	f := &fakeStore{objects: map[string]string{}, exists: true}
	// An object reappears at every listing: never empty.
	s := &refilling{fakeStore: f}
	start := time.Now()
	_, err := drain(context.Background(), s, "b", func() bool { return true }, time.Millisecond, time.Second, 50*time.Millisecond)
	if err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Fatalf("drain = %v, want a not-empty error", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("gave up after %v", d)
	}
}

type refilling struct{ *fakeStore }

func (r *refilling) ListObjectsV2(ctx context.Context, in *s3.ListObjectsV2Input, o ...func(*s3.Options)) (*s3.ListObjectsV2Output, error) {
	r.put("elb-access-x.log", "l\n")
	return r.fakeStore.ListObjectsV2(ctx, in, o...)
}
