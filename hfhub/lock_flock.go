//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package hfhub

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/ragd/ragd"
)

// lockFile takes an exclusive flock on path, as Python's filelock does for
// huggingface_hub, waiting until it is free or ctx is done.
func lockFile(ctx context.Context, path string) (unlock func(), err error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, ragd.WrapError(ragd.EInternal, err, "cannot write to the Hugging Face cache")
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, ragd.WrapError(ragd.EInternal, err, "cannot write to the Hugging Face cache")
	}
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() {
				syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
				f.Close()
			}, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR) {
			f.Close()
			return nil, ragd.WrapError(ragd.EInternal, err, "cannot lock %s in the Hugging Face cache", path)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, ragd.WrapError(ragd.EUnavailable, ctx.Err(), "gave up waiting for another download of the same file (%s)", path)
		case <-time.After(50 * time.Millisecond):
		}
	}
}
