package fetch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"github.com/ragd/ragd"
)

// DefaultMaxFileBytes caps the files [Roots] reads when RootsConfig gives
// no cap.
const DefaultMaxFileBytes = 50 << 20

// maxWalkDepth caps directory nesting below a walked path.
const maxWalkDepth = 64

// RootsConfig configures [NewRoots].
type RootsConfig struct {
	// Paths are the directories folder sources may read from. Each is known
	// by its base name, which prefixes the source keys of its files, so base
	// names must differ.
	Paths []string
	// MaxFileBytes caps a file's size [50 MB]; larger files are skipped.
	MaxFileBytes int64
}

// Roots is the set of server-side directories that folder sources may read.
// It is safe for concurrent use.
type Roots struct {
	roots    []root
	maxBytes int64
}

type root struct {
	name string // base name, the first element of keys
	dir  string // absolute, cleaned
}

// NewRoots checks that each configured path is a directory and returns the
// Roots over them. It returns EInvalid for a missing path, a file, or two
// roots with the same base name.
func NewRoots(cfg RootsConfig) (*Roots, error) {
	r := &Roots{maxBytes: cfg.MaxFileBytes}
	if r.maxBytes <= 0 {
		r.maxBytes = DefaultMaxFileBytes
	}
	names := make(map[string]string)
	for _, p := range cfg.Paths {
		abs, err := filepath.Abs(p)
		if err != nil {
			return nil, ragd.WrapError(ragd.EInvalid, err, "ingest root %q is not a valid path", p)
		}
		fi, err := os.Stat(abs)
		if err != nil || !fi.IsDir() {
			return nil, ragd.WrapError(ragd.EInvalid, err, "ingest root %q is not a directory", p)
		}
		name := filepath.Base(abs)
		if name == string(filepath.Separator) || name == "." {
			return nil, ragd.Errorf(ragd.EInvalid, "ingest root %q cannot be the file system root", p)
		}
		if other, dup := names[name]; dup {
			return nil, ragd.Errorf(ragd.EInvalid, "ingest roots %q and %q have the same base name %q", other, p, name)
		}
		names[name] = p
		r.roots = append(r.roots, root{name: name, dir: abs})
	}
	return r, nil
}

// Entry is one file found by [Roots.Walk].
type Entry struct {
	// Key is the file's stable source key: its root's name, then its path
	// inside the root, slash-separated ("docs/guide/intro.md").
	Key  string
	Size int64
	// Skip, when not empty, is why the entry is not read: ReasonPathEscape,
	// ReasonNotRegular, ReasonTooLarge or ReasonNotFound (a dangling symlink).
	Skip string
}

// WalkOptions tune [Roots.Walk].
type WalkOptions struct {
	// Hidden includes files and directories whose names start with ".".
	Hidden bool
}

// Walk calls fn for every file under p in lexical order, depth first. p is
// a path under one of the roots: absolute, or relative and starting with a
// root's name. Directory symlinks inside the root are followed unless they
// lead back to a directory being walked (a loop, skipped as
// ReasonPathEscape); symlinks that leave the root are skipped as
// ReasonPathEscape; FIFOs, devices and sockets as ReasonNotRegular, without
// being opened. Nothing outside the root is read or stat'ed.
//
// Walk returns EForbidden (ReasonPathEscape) when p is not under a root or
// leaves it, and ENotFound when it does not exist. An error from fn stops the walk and is
// returned.
func (r *Roots) Walk(ctx context.Context, p string, opt WalkOptions, fn func(Entry) error) error {
	rt, rel, err := r.resolve(p)
	if err != nil {
		return err
	}
	osr, err := os.OpenRoot(rt.dir)
	if err != nil {
		return ragd.WrapError(ragd.EUnavailable, err, "ingest root %q cannot be opened", rt.name)
	}
	defer osr.Close()
	fi, err := osr.Stat(rel)
	if err != nil {
		return r.pathError(p, err)
	}
	w := &walker{r: r, rt: rt, osr: osr, opt: opt, fn: fn}
	if !fi.IsDir() {
		return fn(w.fileEntry(rel, fi))
	}
	return w.dir(ctx, rel, fi, nil)
}

type walker struct {
	r   *Roots
	rt  root
	osr *os.Root
	opt WalkOptions
	fn  func(Entry) error
}

func (w *walker) key(rel string) string {
	if rel == "." {
		return w.rt.name
	}
	return w.rt.name + "/" + filepath.ToSlash(rel)
}

func (w *walker) fileEntry(rel string, fi fs.FileInfo) Entry {
	e := Entry{Key: w.key(rel), Size: fi.Size()}
	switch {
	case !fi.Mode().IsRegular():
		e.Size, e.Skip = 0, ReasonNotRegular
	case fi.Size() > w.r.maxBytes:
		e.Skip = ReasonTooLarge
	}
	return e
}

// dir walks the directory rel; ancestors holds the directories above it
// on the current path, for loop detection.
func (w *walker) dir(ctx context.Context, rel string, fi fs.FileInfo, ancestors []fs.FileInfo) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	for _, a := range ancestors {
		if os.SameFile(a, fi) {
			return w.fn(Entry{Key: w.key(rel), Skip: ReasonPathEscape})
		}
	}
	if len(ancestors) >= maxWalkDepth {
		return w.fn(Entry{Key: w.key(rel), Skip: ReasonPathEscape})
	}
	f, err := w.osr.Open(rel)
	if err != nil {
		return w.fn(Entry{Key: w.key(rel), Skip: skipReason(err)})
	}
	des, err := f.ReadDir(-1)
	f.Close()
	if err != nil {
		return w.fn(Entry{Key: w.key(rel), Skip: skipReason(err)})
	}
	slices.SortFunc(des, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
	ancestors = append(ancestors, fi)
	for _, de := range des {
		name := de.Name()
		if !w.opt.Hidden && strings.HasPrefix(name, ".") {
			continue
		}
		child := filepath.Join(rel, name)
		t := de.Type()
		var cfi fs.FileInfo
		if t&fs.ModeSymlink != 0 {
			// Stat follows the link inside the root; os.Root refuses links
			// that leave it, absolute links and loops.
			cfi, err = w.osr.Stat(child)
		} else {
			cfi, err = w.osr.Lstat(child)
		}
		if err != nil {
			if err := w.fn(Entry{Key: w.key(child), Skip: skipReason(err)}); err != nil {
				return err
			}
			continue
		}
		if cfi.IsDir() {
			if err := w.dir(ctx, child, cfi, ancestors); err != nil {
				return err
			}
			continue
		}
		if err := w.fn(w.fileEntry(child, cfi)); err != nil {
			return err
		}
	}
	return nil
}

// skipReason classifies an error from os.Root: a missing file is
// not_found; everything else (escapes, loops, permission) is treated as an
// attempt to leave the root.
func skipReason(err error) string {
	if errors.Is(err, fs.ErrNotExist) {
		return ReasonNotFound
	}
	return ReasonPathEscape
}

// ReadFile reads the regular file with the given source key (as in
// [Entry.Key]). It opens the file through os.Root without blocking, checks
// that it is a regular file within the size cap, and reads at most the cap.
// Errors are *ragd.Error with an *[Error] cause: EForbidden (path_escape),
// EInvalid (not_regular), ENotFound (not_found), ETooLarge (too_large).
func (r *Roots) ReadFile(ctx context.Context, key string) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	rt, rel, err := r.resolve(key)
	if err != nil {
		return nil, err
	}
	osr, err := os.OpenRoot(rt.dir)
	if err != nil {
		return nil, ragd.WrapError(ragd.EUnavailable, err, "ingest root %q cannot be opened", rt.name)
	}
	defer osr.Close()
	// O_NONBLOCK: a FIFO swapped in after the walk must not block the open.
	f, err := osr.OpenFile(rel, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOCTTY, 0)
	if err != nil {
		// Sockets cannot be opened at all; say what they are.
		if fi, serr := osr.Stat(rel); serr == nil && !fi.Mode().IsRegular() {
			return nil, r.refuse(&Error{Reason: ReasonNotRegular, Source: key})
		}
		return nil, r.pathError(key, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, ragd.WrapError(ragd.EUnavailable, err, "%s cannot be read", key)
	}
	if !fi.Mode().IsRegular() {
		return nil, r.refuse(&Error{Reason: ReasonNotRegular, Source: key})
	}
	if fi.Size() > r.maxBytes {
		return nil, r.refuse(&Error{Reason: ReasonTooLarge, Source: key})
	}
	data, err := io.ReadAll(io.LimitReader(f, r.maxBytes+1))
	if err != nil {
		return nil, ragd.WrapError(ragd.EUnavailable, err, "%s cannot be read", key)
	}
	if int64(len(data)) > r.maxBytes {
		return nil, r.refuse(&Error{Reason: ReasonTooLarge, Source: key})
	}
	return data, nil
}

// resolve maps a path or key to its root and a local path inside it.
func (r *Roots) resolve(p string) (root, string, error) {
	if p == "" || strings.ContainsRune(p, 0) {
		return root{}, "", r.refuse(&Error{Reason: ReasonPathEscape, Source: p})
	}
	if filepath.IsAbs(p) {
		clean := filepath.Clean(p)
		best := -1
		for i, rt := range r.roots {
			if clean == rt.dir || strings.HasPrefix(clean, rt.dir+string(filepath.Separator)) {
				if best < 0 || len(rt.dir) > len(r.roots[best].dir) {
					best = i
				}
			}
		}
		if best < 0 {
			return root{}, "", r.refuse(&Error{Reason: ReasonPathEscape, Source: p})
		}
		rel, err := filepath.Rel(r.roots[best].dir, clean)
		if err != nil || !filepath.IsLocal(rel) {
			return root{}, "", r.refuse(&Error{Reason: ReasonPathEscape, Source: p, Err: err})
		}
		return r.roots[best], rel, nil
	}
	slashed := filepath.ToSlash(p)
	name, rest, _ := strings.Cut(slashed, "/")
	for _, rt := range r.roots {
		if rt.name != name {
			continue
		}
		if rest == "" {
			return rt, ".", nil
		}
		rel := path.Clean(rest)
		if !filepath.IsLocal(filepath.FromSlash(rel)) {
			return root{}, "", r.refuse(&Error{Reason: ReasonPathEscape, Source: p})
		}
		return rt, filepath.FromSlash(rel), nil
	}
	return root{}, "", r.refuse(&Error{Reason: ReasonPathEscape, Source: p,
		Err: fmt.Errorf("no root named %q", name)})
}

func (r *Roots) pathError(p string, err error) error {
	if reason := skipReason(err); reason == ReasonNotFound {
		return r.refuse(&Error{Reason: ReasonNotFound, Source: p, Err: err})
	}
	return r.refuse(&Error{Reason: ReasonPathEscape, Source: p, Err: err})
}

// refuse wraps e in the *ragd.Error its reason maps to.
func (r *Roots) refuse(e *Error) error {
	switch e.Reason {
	case ReasonNotFound:
		return ragd.WrapError(ragd.ENotFound, e, "%s does not exist", e.Source)
	case ReasonNotRegular:
		return ragd.WrapError(ragd.EInvalid, e, "%s is not a regular file", e.Source)
	case ReasonTooLarge:
		return ragd.WrapError(ragd.ETooLarge, e, "%s is larger than %d bytes", e.Source, r.maxBytes)
	default:
		return ragd.WrapError(ragd.EForbidden, e, "%s is outside the allowed ingest folders", e.Source)
	}
}
