package server

import (
	"context"
	"runtime/debug"
	"runtime/metrics"
	"time"
)

// This file is how often the gateway collects garbage. A proxied request
// allocates some 10 KB (its http.Request copies, headers, contexts); with
// Go's default GOGC=100 and the few MB a gateway's cluster map keeps live,
// the heap fills every few milliseconds under load, and collecting took
// 16% of the CPU of a small HTTP/1.1 request and 27% over HTTP/2 (the
// JSONP benchmark, the same build under GOGC=100 and 400). While the live
// heap is small, the gateway lets the heap grow to gcHeapBudget between
// collections (GOGC up to 400); a large cluster's map (10,000 agents) keeps
// Go's default, so memory never grows past what GOGC=100 would use there.
// A GOGC set in the environment is left alone.

// gcHeapBudget is the heap the gateway may grow to between collections
// while its live heap is small: the download's peak RSS stays under the
// 64 MB of SPEC section 12.
const gcHeapBudget = 32 << 20

// tuneGC sets GOGC from the live heap every second until ctx ends, then
// restores Go's default.
func tuneGC(ctx context.Context, budget uint64) {
	live := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	t := time.NewTicker(time.Second)
	defer t.Stop()
	set := -1
	for {
		metrics.Read(live)
		if p := gcPercent(live[0].Value.Uint64(), budget); p != set {
			debug.SetGCPercent(p)
			set = p
		}
		select {
		case <-ctx.Done():
			debug.SetGCPercent(100)
			return
		case <-t.C:
		}
	}
}

// gcPercent is the GOGC that lets a heap of live bytes grow to budget
// before the next collection, between Go's default 100 and 400.
func gcPercent(live, budget uint64) int {
	if live == 0 {
		return 400
	}
	// The heap grows to live * (1 + GOGC/100) before a collection.
	grow := budget * 100 / live
	if grow < 200 {
		return 100
	}
	return int(min(400, grow-100))
}
