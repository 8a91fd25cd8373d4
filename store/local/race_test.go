//go:build race

package local_test

// raceEnabled reports whether the race detector is on; the slowest tests
// then do less.
const raceEnabled = true
