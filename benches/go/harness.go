// The measurement shared by sched.go and echo.go, each built together with
// this file (scripts/bench-go.sh: `go build sched.go harness.go`).
//
// Close to criterion's flat sampling: a warm-up of about one second (also
// to size a sample), then `samples` samples of the same iteration count;
// one line per workload with the 10th, 50th and 90th percentile of the
// per-iteration time over the samples:
//
//	WORKLOAD/go/WORKERS p10 TIME p50 TIME p90 TIME (20 samples x N iterations)
package main

import (
	"flag"
	"fmt"
	"os"
	"regexp"
	"runtime"
	"sort"
	"time"
)

const samples = 20

type workload struct {
	name string
	f    func()
}

// run parses the flags (-warm-up, -measurement, -filter REGEXP), then
// measures and prints every workload the filter matches.
func run(workloads []workload) {
	warm := flag.Duration("warm-up", time.Second, "warm-up time per workload")
	meas := flag.Duration("measurement", 3*time.Second, "measurement time per workload")
	filter := flag.String("filter", "", "regexp: run only the workloads it matches")
	flag.Parse()
	re, err := regexp.Compile(*filter)
	if err != nil {
		fmt.Fprintf(os.Stderr, "bad -filter: %v\n", err)
		os.Exit(2)
	}
	workers := runtime.GOMAXPROCS(0)
	for _, w := range workloads {
		if !re.MatchString(w.name) {
			continue
		}
		ts, iters := measure(w.f, *warm, *meas/samples)
		fmt.Printf("%s/go/%d p10 %s p50 %s p90 %s (%d samples x %d iterations)\n",
			w.name, workers, human(pct(ts, 0.1)), human(pct(ts, 0.5)), human(pct(ts, 0.9)), samples, iters)
	}
}

// measure runs f for about warm, sizes a sample to about per, then times
// `samples` samples and returns per-iteration times in nanoseconds, sorted.
func measure(f func(), warm, per time.Duration) ([]float64, int) {
	start := time.Now()
	n := 0
	for time.Since(start) < warm {
		f()
		n++
	}
	iters := int(per / (time.Since(start) / time.Duration(n)))
	if iters < 1 {
		iters = 1
	}
	out := make([]float64, 0, samples)
	for s := 0; s < samples; s++ {
		t := time.Now()
		for i := 0; i < iters; i++ {
			f()
		}
		out = append(out, float64(time.Since(t).Nanoseconds())/float64(iters))
	}
	sort.Float64s(out)
	return out, iters
}

func pct(sorted []float64, p float64) float64 {
	return sorted[int(p*float64(len(sorted)-1))]
}

func human(ns float64) string {
	switch {
	case ns >= 1e6:
		return fmt.Sprintf("%.3fms", ns/1e6)
	case ns >= 1e3:
		return fmt.Sprintf("%.1fµs", ns/1e3)
	default:
		return fmt.Sprintf("%.0fns", ns)
	}
}
