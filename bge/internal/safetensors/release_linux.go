//go:build linux

package safetensors

import "syscall"

// release tells the kernel the mapped pages of b are not needed now; they
// are read back from the page cache if touched again.
func release(b []byte) {
	if len(b) > 0 {
		_ = syscall.Madvise(b, syscall.MADV_DONTNEED)
	}
}
