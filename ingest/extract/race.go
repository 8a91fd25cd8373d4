//go:build race

package extract

// raceEnabled is true in binaries built with the race detector, whose
// shadow memory cannot live under a data segment limit.
const raceEnabled = true
