package extract_test

import (
	"fmt"
	"os"
	"testing"
)

// testCacheDir is the wazero compilation cache shared by this package's
// tests, so PDFium is compiled once per run.
var testCacheDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "ragd-extract-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	testCacheDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}
