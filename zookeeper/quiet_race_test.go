//go:build race

package zookeeper

import "testing"

// TestLibraryBusy: the stacks of a connect loop tell whether it is between
// its handshake and waiting on the connection (busy), or dialling or
// waiting (quiet).
func TestLibraryBusy(t *testing.T) {
	const (
		waiting   = "goroutine 7 [semacquire]:\nsync.runtime_SemacquireWaitGroup(0xc0000a4108, 0x0)\nsync.(*WaitGroup).Wait(0xc0000a4100)\ngithub.com/go-zookeeper/zk.(*Conn).loop(0xc000150000, {0x9a5c28, 0xc0000b8000})\ngithub.com/go-zookeeper/zk.Connect.func1()"
		dialing   = "goroutine 7 [select]:\ngithub.com/go-zookeeper/zk.(*Conn).connect(0xc000150000)\ngithub.com/go-zookeeper/zk.(*Conn).loop(0xc000150000, {0x9a5c28, 0xc0000b8000})"
		handshake = "goroutine 7 [IO wait]:\ninternal/poll.runtime_pollWait(0x7f, 0x72)\ngithub.com/go-zookeeper/zk.(*Conn).authenticate(0xc000150000)\ngithub.com/go-zookeeper/zk.(*Conn).loop(0xc000150000, {0x9a5c28, 0xc0000b8000})"
		starting  = "goroutine 7 [runnable]:\ngithub.com/go-zookeeper/zk.(*Conn).loop(0xc000150000, {0x9a5c28, 0xc0000b8000})\ngithub.com/go-zookeeper/zk.Connect.func1()"
		resending = "goroutine 9 [select]:\ngithub.com/go-zookeeper/zk.(*Conn).request(0xc000150000, 0x65)\ngithub.com/go-zookeeper/zk.(*Conn).sendSetWatches.func1()"
		other     = "goroutine 1 [running]:\nmain.main()"
	)
	for _, tt := range []struct {
		name, stacks string
		busy         bool
	}{
		{"no library", other, false},
		{"waiting on its connection", other + "\n\n" + waiting, false},
		{"dialling", dialing, false},
		{"handshake", waiting + "\n\n" + handshake, true},
		{"past the handshake", starting, true},
		{"re-sending watches", waiting + "\n\n" + resending, true},
	} {
		if got := libraryBusy([]byte(tt.stacks)); got != tt.busy {
			t.Errorf("%s: busy %v, want %v", tt.name, got, tt.busy)
		}
	}
}
