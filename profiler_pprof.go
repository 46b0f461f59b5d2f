//go:build pprof

package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/pprof"
	"strings"
)

// startProfiler serves Go's profiles (net/http/pprof) on the loopback
// address MESOSGATE_PPROF names, for a binary built with -tags pprof: the
// `make bench` harness builds one to profile the gateway under load
// (MESOSGATE_BENCH_PROFILE). A release build has no such endpoint
// (profiler.go), so nothing in a user's environment can open one.
func startProfiler(environ []string, stderr io.Writer) {
	var addr string
	for _, kv := range environ {
		if v, ok := strings.CutPrefix(kv, "MESOSGATE_PPROF="); ok {
			addr = v
		}
	}
	if addr == "" {
		return
	}
	host, _, err := net.SplitHostPort(addr)
	if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
		fmt.Fprintf(stderr, "mesosgate: MESOSGATE_PPROF=%q: give a loopback address, as 127.0.0.1:6060\n", addr)
		return
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	go func() {
		if err := http.ListenAndServe(addr, mux); err != nil {
			fmt.Fprintf(stderr, "mesosgate: profiler on %s: %v\n", addr, err)
		}
	}()
}
