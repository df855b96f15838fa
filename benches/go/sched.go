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
// Measurement and output: harness.go.
package main

import (
	"runtime"
	"sync/atomic"
)

const (
	spawnCount    = 10_000
	yieldTasks    = 200
	yieldsPerTask = 1_000
	pingCount     = 1_000
	chainLength   = 1_000
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

func main() {
	run([]workload{
		{"spawn_many_local", spawnManyLocal},
		{"spawn_many_remote_idle", spawnManyRemoteIdle},
		{"yield_many", yieldMany},
		{"ping_pong", pingPong},
		{"chained_spawn", chainedSpawn},
	})
}
