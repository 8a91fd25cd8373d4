package extract

import (
	"os"
	"os/exec"
	"runtime/debug"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

// prepareChild puts the child in a process group of its own, so that the
// whole group can be killed, and has the kernel kill it when the parent
// dies.
func prepareChild(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// killChild kills the child's process group.
func killChild(cmd *exec.Cmd) {
	if cmd.Process == nil {
		return
	}
	if err := syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); err != nil {
		cmd.Process.Kill()
	}
}

// memoryPoll is how often the parent checks the child's resident memory.
const memoryPoll = 20 * time.Millisecond

// watchMemory kills the child (calls kill) when its resident set grows
// past limit, until done is closed. It backs up the limits the child sets
// on itself (limitSelf). It keeps in peak the largest resident set seen.
func watchMemory(cmd *exec.Cmd, limit int64, done <-chan struct{}, kill func(), peak *atomic.Int64) {
	if cmd.Process == nil {
		return
	}
	path := "/proc/" + strconv.Itoa(cmd.Process.Pid) + "/statm"
	page := int64(os.Getpagesize())
	t := time.NewTicker(memoryPoll)
	defer t.Stop()
	for {
		select {
		case <-done:
			return
		case <-t.C:
			b, err := os.ReadFile(path)
			if err != nil {
				return // exited
			}
			f := strings.Fields(string(b))
			if len(f) < 2 {
				return
			}
			resident, err := strconv.ParseInt(f[1], 10, 64)
			if err != nil {
				continue
			}
			rss := resident * page
			peak.Store(max(peak.Load(), rss)) // this goroutine is the only writer
			if rss > limit {
				kill()
				return
			}
		}
	}
}

// limitSelf caps the child's own memory: the Go runtime collects harder as
// the heap nears the limit, and the data segment limit (private writable
// mappings: the Go heap and the WebAssembly memory, not the address space
// the runtime merely reserves) makes allocation beyond it fail, which the
// runtime reports as "out of memory".
func limitSelf(limit int64) {
	if limit <= 0 {
		return
	}
	debug.SetMemoryLimit(limit * 3 / 4)
	if raceEnabled {
		return // the parent's resident-memory watch still applies
	}
	lim := syscall.Rlimit{Cur: uint64(limit), Max: uint64(limit)}
	syscall.Setrlimit(syscall.RLIMIT_DATA, &lim)
}
