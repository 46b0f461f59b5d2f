package upstream

import (
	"context"
	"testing"
	"time"
)

// TestInFlightBodies: requests with a body take half of a member's slots
// at most, so the rest stay for reads without one; a member's bound
// counts both; a slot given back is taken by the next in line.
func TestInFlightBodies(t *testing.T) {
	f := newInFlight(4)
	ctx := context.Background()
	const wait = 20 * time.Millisecond
	take := func(what string, body, want bool) func() {
		t.Helper()
		release, err := f.acquire(ctx, "m:5050", wait, body)
		if (err == nil) != want {
			t.Fatalf("%s: err %v, want a slot: %v", what, err, want)
		}
		return release
	}
	b1 := take("a first body", true, true)
	take("a second body", true, true)
	take("a third body, past the bodies' half", true, false)
	r1 := take("a read", false, true)
	take("a second read", false, true)
	take("a third read, past the bound", false, false)
	if _, err := f.acquire(ctx, "other:5050", wait, true); err != nil {
		t.Errorf("another member's slots are its own: %v", err)
	}
	b1()
	b1() // once only
	r1()
	take("a body after one was given back", true, true)
	take("a read after one was given back", false, true)
	take("a read past the bound again", false, false)
}
