// The scheduler workloads of benches/scheduler.rs, written for Go's
// runtime, so docs/benchmarks.md can put a Go column beside weft's and
// tokio's. Run through scripts/bench-go.sh (GOMAXPROCS = the worker
// count), which skips with a message where no Go toolchain is installed.
//
// Each workload mirrors its Rust twin (the constants are the same):
//   - spawn_many_local: one goroutine starts SPAWN_COUNT goroutines; each
//     ticks a countdown, the last closes a channel the caller waits on.
//   - spawn_many_remote_idle: the caller starts SPAWN_COUNT goroutines,
//     each with its own completion channel (the JoinHandle), then waits on
//     every one. Go has no "outside the runtime": the caller is itself a
//     goroutine, so this is the closest shape, and it says so in the table.
//   - yield_many: YIELD_TASKS goroutines, each calling runtime.Gosched()
//     YIELDS_PER_TASK times; the caller waits on each one's channel.
//   - ping_pong: PING_COUNT goroutines; each starts a partner and the two
//     exchange a ping and a pong over two one-slot channels (a oneshot),
//     then the pinger ticks a countdown.
//   - chained_spawn: a chain of CHAIN_LENGTH goroutines, each starting the
//     next; the last one closes the caller's channel.
//
// Measurement, close to criterion's flat sampling: a warm-up of about one
// second (also to size a sample), then SAMPLES samples of the same
// iteration count each; it prints the 10th, 50th and 90th percentile of
// the per-iteration time over the samples, one line per workload:
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
	"sync/atomic"
	"time"
)

const (
	spawnCount    = 10_000
	yieldTasks    = 200
	yieldsPerTask = 1_000
	pingCount     = 1_000
	chainLength   = 1_000
	samples       = 20
)

type countdown struct {
	remaining int64
	done      chan struct{}
}

func newCountdown(n int) *countdown {
	return &countdown{remaining: int64(n), done: make(chan struct{})}
}

func (c *countdown) tick() {
	if atomic.AddInt64(&c.remaining, -1) == 0 {
		close(c.done)
	}
}

func spawnManyLocal() {
	c := newCountdown(spawnCount)
	go func() {
		for i := 0; i < spawnCount; i++ {
			go c.tick()
		}
	}()
	<-c.done
}

func spawnManyRemoteIdle() {
	handles := make([]chan struct{}, spawnCount)
	for i := range handles {
		h := make(chan struct{}, 1)
		handles[i] = h
		go func() { h <- struct{}{} }()
	}
	for _, h := range handles {
		<-h
	}
}

func yieldMany() {
	handles := make([]chan struct{}, yieldTasks)
	for i := range handles {
		h := make(chan struct{}, 1)
		handles[i] = h
		go func() {
			for j := 0; j < yieldsPerTask; j++ {
				runtime.Gosched()
			}
			h <- struct{}{}
		}()
	}
	for _, h := range handles {
		<-h
	}
}

func pingPong() {
	c := newCountdown(pingCount)
	for i := 0; i < pingCount; i++ {
		go func() {
			ping := make(chan struct{}, 1)
			pong := make(chan struct{}, 1)
			go func() {
				<-ping
				pong <- struct{}{}
			}()
			ping <- struct{}{}
			<-pong
			c.tick()
		}()
	}
	<-c.done
}

func chainLink(done chan struct{}, left int) {
	if left == 0 {
		close(done)
		return
	}
	go chainLink(done, left-1)
}

func chainedSpawn() {
	done := make(chan struct{})
	go chainLink(done, chainLength-1)
	<-done
}

// measure runs f for about warm, sizes a sample to about per, then times
// `samples` samples and returns per-iteration times in nanoseconds.
func measure(f func(), warm, per time.Duration) ([]float64, int) {
	start := time.Now()
	n := 0
	for time.Since(start) < warm {
		f()
		n++
	}
	perIter := time.Since(start) / time.Duration(n)
	iters := int(per / perIter)
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
	i := int(p * float64(len(sorted)-1))
	return sorted[i]
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

func main() {
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
	workloads := []struct {
		name string
		f    func()
	}{
		{"spawn_many_local", spawnManyLocal},
		{"spawn_many_remote_idle", spawnManyRemoteIdle},
		{"yield_many", yieldMany},
		{"ping_pong", pingPong},
		{"chained_spawn", chainedSpawn},
	}
	for _, w := range workloads {
		if !re.MatchString(w.name) {
			continue
		}
		ts, iters := measure(w.f, *warm, *meas/samples)
		fmt.Printf("%s/go/%d p10 %s p50 %s p90 %s (%d samples x %d iterations)\n",
			w.name, workers, human(pct(ts, 0.1)), human(pct(ts, 0.5)), human(pct(ts, 0.9)), samples, iters)
	}
}
