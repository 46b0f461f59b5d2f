//go:build !race

package zookeeper

// libraryQuiet is true at once outside race-detector builds (see
// quiet_race.go).
func libraryQuiet() bool { return true }
