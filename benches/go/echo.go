// The loopback echo workloads of benches/net.rs, written for Go's runtime
// and netpoller, so docs/benchmarks.md can put a Go column beside weft's,
// tokio's and the bare-mio floor's. Run through scripts/bench-go.sh
// (GOMAXPROCS = the worker count), which skips with a message where no Go
// toolchain is installed.
//
// One iteration, as in the Rust bench: a listener on 127.0.0.1; one
// goroutine accepts CONNS connections and starts an echo goroutine for
// each (read into a SIZE buffer, write back what was read, until the peer
// closes); CONNS client goroutines each connect (TCP_NODELAY, Go's
// default), make ROUNDS round trips of SIZE bytes (write the message,
// read the whole reply), set SO_LINGER 0 and close; the iteration ends
// when every client and the accept loop are done. Shapes (the constants
// of benches/net.rs):
//
//	tcp_echo_latency      1 x 1000 x 64 B
//	tcp_echo_throughput   64 x 100 x 1 KiB
//	tcp_echo_small_256    256 x 100 x 64 B
//	tcp_echo_small_1024   1024 x 25 x 64 B
//
// Measurement and output: harness.go.
package main

import (
	"fmt"
	"io"
	"net"
	"os"
	"sync"
)

type shape struct {
	name                string
	conns, rounds, size int
}

var shapes = []shape{
	{"tcp_echo_latency", 1, 1000, 64},
	{"tcp_echo_throughput", 64, 100, 1024},
	{"tcp_echo_small_256", 256, 100, 64},
	{"tcp_echo_small_1024", 1024, 25, 64},
}

func must(err error) {
	if err != nil {
		fmt.Fprintf(os.Stderr, "echo: %v\n", err)
		os.Exit(1)
	}
}

func serve(c net.Conn, size int) {
	defer c.Close()
	buf := make([]byte, size)
	for {
		n, err := c.Read(buf)
		if n > 0 {
			if _, werr := c.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func client(addr string, rounds, size int, wg *sync.WaitGroup) {
	defer wg.Done()
	c, err := net.Dial("tcp", addr)
	must(err)
	tc := c.(*net.TCPConn)
	must(tc.SetNoDelay(true))
	msg := make([]byte, size)
	for i := range msg {
		msg[i] = 7
	}
	back := make([]byte, size)
	for r := 0; r < rounds; r++ {
		_, err := tc.Write(msg)
		must(err)
		_, err = io.ReadFull(tc, back)
		must(err)
	}
	// As the Rust clients do: a reset on close, no TIME_WAIT left behind.
	must(tc.SetLinger(0))
	must(tc.Close())
}

func echo(s shape) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(err)
	addr := ln.Addr().String()
	accepted := make(chan struct{})
	go func() {
		for i := 0; i < s.conns; i++ {
			c, err := ln.Accept()
			must(err)
			must(c.(*net.TCPConn).SetNoDelay(true))
			go serve(c, s.size)
		}
		close(accepted)
	}()
	var wg sync.WaitGroup
	wg.Add(s.conns)
	for i := 0; i < s.conns; i++ {
		go client(addr, s.rounds, s.size, &wg)
	}
	wg.Wait()
	<-accepted
	must(ln.Close())
}

func main() {
	workloads := make([]workload, 0, len(shapes))
	for _, s := range shapes {
		s := s
		workloads = append(workloads, workload{s.name, func() { echo(s) }})
	}
	run(workloads)
}
