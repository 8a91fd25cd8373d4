package extract

import (
	"errors"
	"testing"
	"time"
)

// TestChildCrashReason checks how a child that died without an answer is
// explained: by the runtime's words when it says "out of memory", by how
// close to the memory limit the child was last seen otherwise.
func TestChildCrashReason(t *testing.T) {
	const limit = 512 << 20
	killed := errors.New("signal: killed")
	for _, tc := range []struct {
		name   string
		stderr string
		peak   int64
		want   string
	}{
		{"runtime out of memory", "fatal error: runtime: out of memory\n", 100 << 20, ReasonMemoryLimit},
		{"arena metadata", "fatal error: out of memory allocating heap arena metadata\n", 0, ReasonMemoryLimit},
		{"mmap failed", "panic: mmap: cannot allocate memory\n", 0, ReasonMemoryLimit},
		{"silent death near the limit", "", 400 << 20, ReasonMemoryLimit},
		{"thread creation near the limit", "runtime: failed to create new OS thread\nfatal error: newosproc\n", 350 << 20, ReasonMemoryLimit},
		{"parser bug far from the limit", "panic: index out of range [3] with length 2\n", 120 << 20, ReasonParse},
		{"silent death far from the limit", "", 0, ReasonParse},
	} {
		err := childCrash(killed, nil, tc.stderr, limit, tc.peak, time.Second)
		if got := Reason(err); got != tc.want {
			t.Errorf("%s: reason %q (%v), want %q", tc.name, got, err, tc.want)
		}
	}
}
