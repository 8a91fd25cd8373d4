//go:build !race

package extract_test

const raceTest = false
