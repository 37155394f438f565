package main

import (
	"fmt"
	"math"
	"math/bits"
	"time"
)

// subBits sets the histogram's precision: each power of two of
// microseconds is split into 2^subBits buckets, so a reported quantile is
// within 1/2^subBits (under 1.6 %) of the exact sample. A fixed bucket
// array keeps recording allocation-free and histograms cheap to merge,
// which matters when a thousand subscribers each keep one.
const subBits = 6

const (
	subCount = 1 << subBits
	// buckets covers every int64 microsecond count.
	buckets = (64 - subBits + 1) * subCount
)

// Histogram records durations with bounded relative error. The zero value
// is ready to use; it is not safe for concurrent use (keep one per
// goroutine and Merge them).
type Histogram struct {
	counts [buckets]uint64
	n      uint64
	sum    time.Duration
	max    time.Duration
	min    time.Duration
}

// bucketOf maps a microsecond count to its bucket: values below subCount
// have a bucket each; above, the top subBits bits after the leading one
// pick the sub-bucket of its power of two.
func bucketOf(us uint64) int {
	if us < subCount {
		return int(us)
	}
	exp := bits.Len64(us) - subBits - 1 // how far the value is shifted
	sub := (us >> uint(exp)) & (subCount - 1)
	return (exp+1)*subCount + int(sub)
}

// bucketMid is the middle of bucket i's range in microseconds.
func bucketMid(i int) float64 {
	if i < subCount {
		return float64(i)
	}
	exp := i/subCount - 1
	sub := uint64(i % subCount)
	lo := (uint64(subCount) | sub) << uint(exp)
	width := uint64(1) << uint(exp)
	return float64(lo) + float64(width-1)/2
}

// Record adds one sample; negative durations count as zero.
func (h *Histogram) Record(d time.Duration) {
	if d < 0 {
		d = 0
	}
	if h.n == 0 || d < h.min {
		h.min = d
	}
	if d > h.max {
		h.max = d
	}
	h.counts[bucketOf(uint64(d/time.Microsecond))]++
	h.n++
	h.sum += d
}

// Merge adds o's samples to h.
func (h *Histogram) Merge(o *Histogram) {
	if o.n == 0 {
		return
	}
	if h.n == 0 || o.min < h.min {
		h.min = o.min
	}
	if o.max > h.max {
		h.max = o.max
	}
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.n += o.n
	h.sum += o.sum
}

// Count is the number of samples.
func (h *Histogram) Count() uint64 { return h.n }

// Max is the largest sample (exact).
func (h *Histogram) Max() time.Duration { return h.max }

// Mean is the average sample (exact).
func (h *Histogram) Mean() time.Duration {
	if h.n == 0 {
		return 0
	}
	return h.sum / time.Duration(h.n)
}

// Quantile returns the q-quantile (0 < q ≤ 1) by the nearest-rank rule:
// the smallest sample with at least q·n samples at or below it. It is
// clamped to the exact min and max so p100 is the true maximum.
func (h *Histogram) Quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(h.n)))
	rank = max(rank, 1)
	if rank >= h.n {
		return h.max
	}
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			d := time.Duration(bucketMid(i) * float64(time.Microsecond))
			return min(max(d, h.min), h.max)
		}
	}
	return h.max
}

// Summary is "p50 … p95 … p99 … max …" in milliseconds.
func (h *Histogram) Summary() string {
	if h.n == 0 {
		return "no samples"
	}
	return fmt.Sprintf("p50 %s  p95 %s  p99 %s  max %s  (n=%d)",
		ms(h.Quantile(0.50)), ms(h.Quantile(0.95)), ms(h.Quantile(0.99)), ms(h.max), h.n)
}

// ms formats a duration as milliseconds with enough digits for sub-ms
// latencies.
func ms(d time.Duration) string {
	v := float64(d) / float64(time.Millisecond)
	switch {
	case v < 10:
		return fmt.Sprintf("%.2fms", v)
	case v < 100:
		return fmt.Sprintf("%.1fms", v)
	}
	return fmt.Sprintf("%.0fms", v)
}
