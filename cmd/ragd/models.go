package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"text/tabwriter"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/bge"
	"github.com/ragd/ragd/hfhub"
)

const modelsUsage = `Usage:
  ragd models pull [flags] NAME   download a built-in model into the Hugging Face cache
  ragd models list [flags]        list the built-in models, whether cached, where, and their size

Models: %s. Run ` + "`ragd models pull --help`" + ` for the flags.
`

// runModels runs `ragd models pull|list`.
func runModels(ctx context.Context, env *Env, args []string) error {
	if len(args) == 0 {
		fmt.Fprintf(env.Stderr, modelsUsage, knownModelNames())
		return errUsage
	}
	switch args[0] {
	case "pull":
		return runModelsPull(ctx, env, args[1:])
	case "list":
		return runModelsList(ctx, env, args[1:])
	case "-h", "--help", "help":
		fmt.Fprintf(env.Stderr, modelsUsage, knownModelNames())
		return nil
	}
	fmt.Fprintf(env.Stderr, modelsUsage, knownModelNames())
	return fmt.Errorf("unknown models command %q (want pull or list)", args[0])
}

// modelFlags registers the configuration keys the models commands use.
func modelFlags(f *cmdFlags) {
	f.config("hf_hub_cache", "Hugging Face hub cache directory (default $HF_HUB_CACHE, $HF_HOME/hub, ~/.cache/huggingface/hub)")
	f.config("hf_endpoint", "Hugging Face Hub URL (default $HF_ENDPOINT or https://huggingface.co)")
	f.config("offline", "use only the cache, never the network")
}

// lookupBuiltin returns the built-in model of a name, or an error listing
// the known ones.
func lookupBuiltin(name string) (bge.KnownModel, error) {
	m, ok := builtinModel(name)
	if !ok {
		return bge.KnownModel{}, ragd.Errorf(ragd.EInvalid, "unknown model %q; known models: %s", name, knownModelNames())
	}
	return m, nil
}

func runModelsPull(ctx context.Context, env *Env, args []string) error {
	f := newFlags(env, "models pull", "NAME", "Download a built-in embedding model ("+knownModelNames()+") from the Hugging Face Hub into the Hugging Face cache, checking each file's size and hash, resuming an interrupted download. Asks the Hub for the newest revision even when an older one is cached.")
	modelFlags(f)
	if err := f.Parse(args); err != nil {
		return err
	}
	if f.NArg() != 1 {
		f.Usage()
		return errUsage
	}
	m, err := lookupBuiltin(f.Arg(0))
	if err != nil {
		return err
	}
	cfg, err := f.load()
	if err != nil {
		return err
	}
	cache := hubCache(cfg)
	if cache == "" {
		return ragd.Errorf(ragd.EInvalid, "no Hugging Face cache directory: set HF_HUB_CACHE or HF_HOME")
	}
	r := hfhub.NewRenderer(env.Stderr, isTerminal(env.Stderr))
	fmt.Fprintf(env.Stderr, "pulling %s (%s@%s) into %s\n", m.Name, m.Repo, m.Revision, cache)
	snap, err := hubClient(cfg).Get(ctx, hfhub.Request{
		Repo:     m.Repo,
		Revision: m.Revision,
		Files:    hubFiles(m),
		Update:   !cfg.Offline,
		Progress: r.Update,
	})
	r.Finish()
	if err != nil {
		return err
	}
	size := snapshotSize(snap.Dir)
	how := "downloaded"
	if snap.Source == hfhub.SourceCache {
		how = "already cached"
	}
	fmt.Fprintf(env.Stdout, "%s: %s %s@%s in %s (%s)\n", m.Name, how, snap.Repo, snap.Revision, snap.Dir, formatBytes(size))
	return nil
}

func runModelsList(_ context.Context, env *Env, args []string) error {
	f := newFlags(env, "models list", "", "List the built-in embedding models: whether the Hugging Face cache holds them, where, and their size on disk.")
	modelFlags(f)
	if err := f.Parse(args); err != nil {
		return err
	}
	if f.NArg() > 0 {
		return fmt.Errorf("models list takes no arguments, got %q", f.Arg(0))
	}
	cfg, err := f.load()
	if err != nil {
		return err
	}
	cache := hubCache(cfg)
	cached, err := hfhub.List(cache)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "cache: %s\n", cache)
	if def, ok := builtinModel(cfg.Embedder); ok && cfg.ModelDir != "" {
		fmt.Fprintf(env.Stdout, "model_dir: %s (used for %s instead of the cache)\n", cfg.ModelDir, def.Name)
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tDIMENSION\tCACHED\tSIZE\tREVISION\tWHERE")
	for _, m := range bge.KnownModels() {
		state, size, rev, where := "no", "-", "-", "-"
		i := slices.IndexFunc(cached, func(c hfhub.CachedModel) bool { return c.Repo == m.Repo })
		if i >= 0 {
			if r, ok := bestRevision(cached[i], m); ok {
				state, size, rev = "yes", formatBytes(r.Size), r.Commit
				where = filepath.Join(cached[i].Dir, "snapshots", r.Commit)
			} else {
				state, size, where = "partial", formatBytes(cached[i].Size), cached[i].Dir
			}
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\n", m.Name, m.Dimension, state, size, rev, where)
	}
	return tw.Flush()
}

// bestRevision picks the cached revision a model would load from: the
// one its revision (main) points to when complete, else the newest
// complete one with the files needed.
func bestRevision(c hfhub.CachedModel, m bge.KnownModel) (hfhub.CachedRevision, bool) {
	files := hubFiles(m)
	usable := func(r hfhub.CachedRevision) bool {
		if !r.Complete {
			return false
		}
		for _, name := range files.Required {
			if !slices.Contains(r.Files, name) {
				return false
			}
		}
		for _, group := range files.OneOf {
			if !slices.ContainsFunc(group, func(n string) bool { return slices.Contains(r.Files, n) }) {
				return false
			}
		}
		return true
	}
	for _, r := range c.Revisions {
		if slices.Contains(r.Refs, m.Revision) && usable(r) {
			return r, true
		}
	}
	for _, r := range c.Revisions {
		if usable(r) {
			return r, true
		}
	}
	return hfhub.CachedRevision{}, false
}

// snapshotSize is the total size of the files a snapshot directory links
// to.
func snapshotSize(dir string) int64 {
	var n int64
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		if st, err := os.Stat(p); err == nil {
			n += st.Size()
		}
		return nil
	})
	return n
}

// isTerminal reports whether w is a terminal, where progress is redrawn in
// place rather than written line by line.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// formatBytes writes a size for people: 512 B, 33.4 MB, 1.3 GB.
func formatBytes(n int64) string {
	const unit = 1000
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	v, suffix := float64(n), ""
	for _, s := range []string{"kB", "MB", "GB", "TB"} {
		v /= unit
		suffix = s
		if v < unit {
			break
		}
	}
	return fmt.Sprintf("%.1f %s", v, suffix)
}
