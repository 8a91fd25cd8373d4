//go:build !linux

package extract

import (
	"os/exec"
	"runtime/debug"
	"sync/atomic"
)

// prepareChild does nothing where process groups are not set up.
func prepareChild(cmd *exec.Cmd) {}

// killChild kills the child.
func killChild(cmd *exec.Cmd) {
	if cmd.Process != nil {
		cmd.Process.Kill()
	}
}

// watchMemory does nothing: resident memory is read from /proc on Linux.
func watchMemory(cmd *exec.Cmd, limit int64, done <-chan struct{}, kill func(), peak *atomic.Int64) {}

// limitSelf asks the Go runtime to keep the heap under the limit.
func limitSelf(limit int64) {
	if limit > 0 {
		debug.SetMemoryLimit(limit * 3 / 4)
	}
}
