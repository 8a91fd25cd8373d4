package extract_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/ragd/ragd/ingest/extract"
)

// childEnv selects what the test binary does when a Sandbox starts it as
// its child: "serve" runs extract.ServeChild, as "ragd __extract" does;
// the other modes misbehave as a crashing or hanging parser would.
const childEnv = "RAGD_EXTRACT_TEST_CHILD"

// pidFileEnv names the file where the "hang" child writes the pid of the
// process it started.
const pidFileEnv = "RAGD_EXTRACT_TEST_PIDFILE"

// needPDFEngine skips a test that starts PDFium under the race detector:
// compiling the WebAssembly module with a race-instrumented wazero takes
// most of a minute per test binary. The race-free run covers those tests;
// the race run keeps the sandbox's own concurrency covered with formats
// that do not need the engine.
func needPDFEngine(t *testing.T) {
	t.Helper()
	if raceTest {
		t.Skip("PDFium is not started under the race detector")
	}
}

// testCacheDir is the wazero compilation cache shared by this package's
// tests, so PDFium is compiled once per run.
var testCacheDir string

func TestMain(m *testing.M) {
	switch mode := os.Getenv(childEnv); mode {
	case "":
	case "serve":
		if err := extract.ServeChild(context.Background(), os.Stdin, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		os.Exit(0)
	case "panic":
		io.Copy(io.Discard, os.Stdin)
		panic("parser bug")
	case "hang":
		// A hung parser that also started a process of its own: the
		// whole process group must die at the deadline.
		io.Copy(io.Discard, os.Stdin)
		sleeper := exec.Command("sleep", "600")
		sleeper.Start()
		os.WriteFile(os.Getenv(pidFileEnv), []byte(strconv.Itoa(sleeper.Process.Pid)), 0o600)
		for start := time.Now(); ; {
			_ = time.Since(start) // burn CPU
		}
	default:
		fmt.Fprintln(os.Stderr, "unknown child mode", mode)
		os.Exit(2)
	}
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
