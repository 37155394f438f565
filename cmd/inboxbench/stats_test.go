package main

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// exactQuantile is the nearest-rank quantile of sorted samples.
func exactQuantile(sorted []time.Duration, q float64) time.Duration {
	rank := int(math.Ceil(q * float64(len(sorted))))
	return sorted[max(rank, 1)-1]
}

func TestHistogramQuantilesWithinPrecision(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var h Histogram
	var all []time.Duration
	for range 100_000 {
		// Log-normal-ish latencies from microseconds to seconds.
		d := time.Duration(math.Exp(rng.NormFloat64()*2+8)) * time.Microsecond
		h.Record(d)
		all = append(all, d)
	}
	slices.Sort(all)
	for _, q := range []float64{0.01, 0.5, 0.9, 0.95, 0.99, 0.999} {
		want, got := exactQuantile(all, q), h.Quantile(q)
		// Bucket width is 1/64 of the value plus truncation to 1 µs.
		tol := float64(want)/64 + float64(time.Microsecond)
		if math.Abs(float64(got-want)) > tol {
			t.Errorf("q%.3f = %v, exact %v (tolerance %v)", q, got, want, time.Duration(tol))
		}
	}
	if h.Max() != all[len(all)-1] || h.Quantile(1) != all[len(all)-1] {
		t.Errorf("max = %v, p100 = %v, want %v", h.Max(), h.Quantile(1), all[len(all)-1])
	}
	if h.Count() != uint64(len(all)) {
		t.Errorf("count = %d", h.Count())
	}
}

func TestHistogramSmallExact(t *testing.T) {
	var h Histogram
	for i := 1; i <= 100; i++ {
		h.Record(time.Duration(i) * time.Microsecond)
	}
	for q, want := range map[float64]time.Duration{0.5: 50 * time.Microsecond, 0.95: 95 * time.Microsecond, 0.99: 99 * time.Microsecond} {
		got := h.Quantile(q)
		if math.Abs(float64(got-want)) > float64(want)/64+float64(time.Microsecond) {
			t.Errorf("q%v = %v, want %v", q, got, want)
		}
	}
	if h.Mean() != 50500*time.Nanosecond {
		t.Errorf("mean = %v", h.Mean())
	}
}

func TestHistogramMergeEqualsRecordingAll(t *testing.T) {
	var a, b, all Histogram
	for i := range 1000 {
		d := time.Duration(i*i) * time.Microsecond
		if i%2 == 0 {
			a.Record(d)
		} else {
			b.Record(d)
		}
		all.Record(d)
	}
	a.Merge(&b)
	if a.counts != all.counts || a.Count() != all.Count() || a.Max() != all.Max() || a.min != all.min || a.Mean() != all.Mean() {
		t.Fatal("merged histogram differs from one that recorded every sample")
	}
	for _, q := range []float64{0.5, 0.99} {
		if a.Quantile(q) != all.Quantile(q) {
			t.Errorf("q%v: merged %v, all %v", q, a.Quantile(q), all.Quantile(q))
		}
	}
}

func TestHistogramEmptyAndNegative(t *testing.T) {
	var h Histogram
	if h.Quantile(0.99) != 0 || h.Summary() != "no samples" {
		t.Fatal("empty histogram must report zero and no samples")
	}
	h.Record(-time.Second)
	if h.Max() != 0 || h.Quantile(0.5) != 0 {
		t.Fatalf("negative sample must count as zero, got max %v", h.Max())
	}
}

func TestBucketsAreMonotonic(t *testing.T) {
	prev := -1
	for us := uint64(0); us < 1<<20; us += 7 {
		b := bucketOf(us)
		if b < prev {
			t.Fatalf("bucketOf(%d) = %d < %d", us, b, prev)
		}
		if mid := bucketMid(b); math.Abs(mid-float64(us)) > float64(us)/64+1 {
			t.Fatalf("bucket %d mid %v far from %d", b, mid, us)
		}
		prev = b
	}
	if b := bucketOf(math.MaxUint64 >> 1); b >= buckets {
		t.Fatalf("largest value maps to bucket %d of %d", b, buckets)
	}
}
