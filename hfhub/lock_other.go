//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package hfhub

import (
	"context"
	"os"
	"path/filepath"
	"time"

	"github.com/ragd/ragd"
)

// lockFile takes an exclusive lock on path by creating it exclusively,
// waiting until it is free or ctx is done. A lock left by a crashed
// process is taken over after an hour.
func lockFile(ctx context.Context, path string) (unlock func(), err error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, ragd.WrapError(ragd.EInternal, err, "cannot write to the Hugging Face cache")
	}
	for {
		f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
		if err == nil {
			f.Close()
			return func() { os.Remove(path) }, nil
		}
		if st, serr := os.Stat(path); serr == nil && time.Since(st.ModTime()) > time.Hour {
			os.Remove(path)
			continue
		}
		select {
		case <-ctx.Done():
			return nil, ragd.WrapError(ragd.EUnavailable, ctx.Err(), "gave up waiting for another download of the same file (%s)", path)
		case <-time.After(50 * time.Millisecond):
		}
	}
}
