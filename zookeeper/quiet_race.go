//go:build race

package zookeeper

import (
	"bytes"
	"runtime"
	"time"
)

// libraryQuiet waits, in race-detector builds only, until no go-zookeeper
// connection is between its handshake and the watches it re-sends, at
// most quietLimit. The library (v1.0.4, conn.go; go-zookeeper/zk pull
// request 35, open since 2020) reads the last zxid in its connect loop
// (sendSetWatches) while its reader may write it for an answer that
// arrives meanwhile: harmless in a build without the detector (one
// aligned int64, used as a hint), but reported by -race as soon as a watch
// is held, which failed tests of this package now and then on a loaded
// machine. Sending nothing until the loop is past that point leaves
// nothing to race with: with no watch held the loop reads nothing, and
// with watches held every answer after its re-sent watches comes through
// the socket after them. The goroutines' stacks are the only place that
// shows where the loop is.
func libraryQuiet() bool {
	deadline := time.Now().Add(quietLimit)
	buf := make([]byte, 1<<16)
	for {
		n := runtime.Stack(buf, true)
		if n == len(buf) {
			buf = make([]byte, 2*len(buf))
			continue
		}
		if !libraryBusy(buf[:n]) || time.Now().After(deadline) {
			return true
		}
		time.Sleep(time.Millisecond)
	}
}

// quietLimit bounds libraryQuiet's wait: a handshake that waits for a
// slow server shows as busy for as long.
const quietLimit = 500 * time.Millisecond

// libraryBusy reports whether a goroutine in stacks (runtime.Stack of
// all) is a connect loop past its dial and not yet waiting on its
// connection's end, or the library's sender of re-sent watches.
func libraryBusy(stacks []byte) bool {
	for g := range bytes.SplitSeq(stacks, []byte("\n\n")) {
		if bytes.Contains(g, []byte("zk.(*Conn).sendSetWatches.func")) {
			return true
		}
		if bytes.Contains(g, []byte("zk.(*Conn).loop(")) &&
			!bytes.Contains(g, []byte("sync.(*WaitGroup).Wait(")) &&
			!bytes.Contains(g, []byte("zk.(*Conn).connect(")) {
			return true
		}
	}
	return false
}
