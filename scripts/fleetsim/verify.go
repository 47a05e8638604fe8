package main

import (
	"bufio"
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// storeClient reads the store directly (not through the proxy) to check
// what arrived and to clean up.
type storeClient struct{ s3 *s3.Client }

func newStoreClient(o options) (*storeClient, error) {
	c := s3.New(s3.Options{
		Region:                     "us-east-1",
		BaseEndpoint:               aws.String(o.endpoint),
		UsePathStyle:               true,
		Credentials:                credentials.NewStaticCredentialsProvider(o.access, o.secret, ""),
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
	})
	return &storeClient{s3: c}, nil
}

// verification is what the store holds against what was written.
type verification struct {
	nodes, buckets int
	objects        int // log objects (not test files)
	wantObjects    int
	missingObjects int // node windows without an object
	extraObjects   int // objects beyond one per node window
	lines          int
	wantLines      int
	lost           int // lines written but in no object
	duplicated     int // lines in more than one object, or twice
	testFiles      int
}

var lineRE = regexp.MustCompile(`fleetsim phase=(\d+) node=(\d+) window=(\d+) line=(\d+)$`)

// verify lists every load balancer's bucket and reads every object.
func (c *storeClient) verify(ctx context.Context, o options, nodes []node, phases int) (verification, error) {
	v := verification{nodes: len(nodes), buckets: len(lbBuckets(nodes)), wantObjects: len(nodes) * phases * o.windows}
	v.wantLines = v.wantObjects * o.lines
	var mu sync.Mutex
	seen := map[string]int{}
	var firstErr error
	buckets := lbBuckets(nodes)
	work := make(chan lbBucket)
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for b := range work {
				objs, tests, lines, err := c.readBucket(ctx, b.name)
				want := b.nodes * phases * o.windows
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = err
				}
				v.objects += objs
				v.testFiles += tests
				if objs < want {
					v.missingObjects += want - objs
				} else {
					v.extraObjects += objs - want
				}
				for _, l := range lines {
					m := lineRE.FindStringSubmatch(l)
					if m == nil || nodeLB(nodes, m[2]) != b.lb {
						v.duplicated++ // a line that is not of this LB's nodes
						continue
					}
					seen[strings.Join(m[1:], "/")]++
					v.lines++
				}
				mu.Unlock()
			}
		})
	}
	for _, b := range buckets {
		work <- b
	}
	close(work)
	wg.Wait()
	if firstErr != nil {
		return v, firstErr
	}
	for p := 1; p <= phases; p++ {
		for _, n := range nodes {
			for w := 1; w <= o.windows; w++ {
				for l := range o.lines {
					switch k := seen[fmt.Sprintf("%d/%d/%d/%d", p, n.i, w, l)]; {
					case k == 0:
						v.lost++
					case k > 1:
						v.duplicated += k - 1
					}
				}
			}
		}
	}
	return v, nil
}

// lbBucket is the bucket of one load balancer and how many nodes use it.
type lbBucket struct {
	name  string
	lb    int
	nodes int
}

func lbBuckets(nodes []node) []lbBucket {
	var out []lbBucket
	for _, n := range nodes {
		if len(out) > 0 && out[len(out)-1].name == n.bucket {
			out[len(out)-1].nodes++
			continue
		}
		out = append(out, lbBucket{name: n.bucket, lb: n.lb, nodes: 1})
	}
	return out
}

// nodeLB returns the load balancer of the node numbered s, or -1.
func nodeLB(nodes []node, s string) int {
	i, err := strconv.Atoi(s)
	if err != nil || i < 0 || i >= len(nodes) {
		return -1
	}
	return nodes[i].lb
}

// readBucket returns the number of log objects and test files in bucket
// and the lines of the log objects.
func (c *storeClient) readBucket(ctx context.Context, bucket string) (objects, tests int, lines []string, err error) {
	p := s3.NewListObjectsV2Paginator(c.s3, &s3.ListObjectsV2Input{Bucket: aws.String(bucket)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return objects, tests, lines, fmt.Errorf("list %s: %w", bucket, err)
		}
		for _, obj := range page.Contents {
			key := aws.ToString(obj.Key)
			if strings.HasSuffix(key, "ELBAccessLogTestFile") {
				tests++
				continue
			}
			objects++
			out, err := c.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
			if err != nil {
				return objects, tests, lines, fmt.Errorf("get %s/%s: %w", bucket, key, err)
			}
			sc := bufio.NewScanner(out.Body)
			for sc.Scan() {
				lines = append(lines, sc.Text())
			}
			out.Body.Close()
			if err := sc.Err(); err != nil {
				return objects, tests, lines, fmt.Errorf("read %s/%s: %w", bucket, key, err)
			}
		}
	}
	return objects, tests, lines, nil
}

// cleanup deletes every object and bucket of the fleet.
func (c *storeClient) cleanup(ctx context.Context, nodes []node) (int, error) {
	var mu sync.Mutex
	var firstErr error
	removed := 0
	work := make(chan string)
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for b := range work {
				err := c.removeBucket(ctx, b)
				mu.Lock()
				if err == nil {
					removed++
				} else if firstErr == nil {
					firstErr = err
				}
				mu.Unlock()
			}
		})
	}
	for _, b := range lbBuckets(nodes) {
		work <- b.name
	}
	close(work)
	wg.Wait()
	return removed, firstErr
}

func (c *storeClient) removeBucket(ctx context.Context, bucket string) error {
	p := s3.NewListObjectsV2Paginator(c.s3, &s3.ListObjectsV2Input{Bucket: aws.String(bucket)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("list %s: %w", bucket, err)
		}
		for _, obj := range page.Contents {
			if _, err := c.s3.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: obj.Key}); err != nil {
				return fmt.Errorf("delete %s/%s: %w", bucket, aws.ToString(obj.Key), err)
			}
		}
	}
	if _, err := c.s3.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String(bucket)}); err != nil {
		return fmt.Errorf("delete bucket %s: %w", bucket, err)
	}
	return nil
}
