//go:build !pprof

package main

import "io"

// startProfiler does nothing in a release build: the profiling endpoint
// exists only in a binary built with -tags pprof (profiler_pprof.go).
func startProfiler(environ []string, stderr io.Writer) {}
