package server

import "testing"

func TestGCPercent(t *testing.T) {
	const mb = 1 << 20
	for _, tc := range []struct {
		name string
		live uint64
		want int
	}{
		{"unknown", 0, 400},
		{"small", 4 * mb, 400},
		{"a fifth", 32 * mb / 5, 400},
		{"a third", 8 * mb, 300},
		{"half", 16 * mb, 100},
		{"large", 200 * mb, 100},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := gcPercent(tc.live, 32*mb); got != tc.want {
				t.Errorf("gcPercent(%d MiB) = %d, want %d", tc.live/mb, got, tc.want)
			}
		})
	}
}
