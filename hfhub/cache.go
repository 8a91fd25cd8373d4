package hfhub

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/ragd/ragd"
)

// CacheDir returns the hub cache directory as huggingface_hub resolves it
// from the environment, given a getenv function such as os.Getenv:
// HF_HUB_CACHE (or its older name HUGGINGFACE_HUB_CACHE), else
// HF_HOME/hub, else XDG_CACHE_HOME/huggingface/hub, else
// ~/.cache/huggingface/hub. A leading "~" is expanded with HOME. It
// returns "" when none of these can be resolved.
func CacheDir(getenv func(string) string) string {
	home := getenv("HOME")
	expand := func(p string) string {
		if p == "~" || strings.HasPrefix(p, "~/") {
			if home == "" {
				return ""
			}
			return filepath.Join(home, p[1:])
		}
		return p
	}
	for _, name := range []string{"HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE"} {
		if v := getenv(name); v != "" {
			return expand(v)
		}
	}
	if v := getenv("HF_HOME"); v != "" {
		if d := expand(v); d != "" {
			return filepath.Join(d, "hub")
		}
		return ""
	}
	if v := getenv("XDG_CACHE_HOME"); v != "" {
		if d := expand(v); d != "" {
			return filepath.Join(d, "huggingface", "hub")
		}
		return ""
	}
	if home == "" {
		return ""
	}
	return filepath.Join(home, ".cache", "huggingface", "hub")
}

// repoFolder is the cache folder name of a model repository, as
// huggingface_hub names it: "models--ORG--NAME".
func repoFolder(repo string) string {
	return "models--" + strings.ReplaceAll(repo, "/", "--")
}

func (c *Client) repoDir(repo string) string {
	return filepath.Join(c.cacheDir, repoFolder(repo))
}

// resolveRef returns the commit a revision points to in the cache: the
// revision itself when it is a commit hash, else the content of
// refs/REVISION.
func (c *Client) resolveRef(repo, rev string) (string, bool) {
	if commitSHA.MatchString(rev) {
		return rev, true
	}
	b, err := os.ReadFile(filepath.Join(c.repoDir(repo), "refs", filepath.FromSlash(rev)))
	if err != nil {
		return "", false
	}
	commit := strings.TrimSpace(string(b))
	if !commitSHA.MatchString(commit) {
		return "", false
	}
	return commit, true
}

// fromCache looks for the files in the cached snapshot the revision points
// to. It returns the files that are not settled: missing required files,
// unmet OneOf groups, and, unless onlyRequired, optional files that are
// neither present nor known to be absent (huggingface_hub's .no_exist
// markers).
func (c *Client) fromCache(repo, rev string, files Files, onlyRequired bool) (Snapshot, []string) {
	commit, ok := c.resolveRef(repo, rev)
	if !ok {
		return Snapshot{}, []string{"refs/" + rev}
	}
	snap := Snapshot{
		Repo:     repo,
		Revision: commit,
		Dir:      filepath.Join(c.repoDir(repo), "snapshots", commit),
		Source:   SourceCache,
	}
	var missing []string
	for _, name := range files.Required {
		if !snap.Has(name) {
			missing = append(missing, name)
		}
	}
	for _, group := range files.OneOf {
		if !hasAny(snap, group) && (onlyRequired || !c.allAbsent(repo, commit, group)) {
			missing = append(missing, strings.Join(group, " or "))
		}
	}
	if !onlyRequired {
		for _, name := range files.Optional {
			if !snap.Has(name) && !c.knownAbsent(repo, commit, name) {
				missing = append(missing, name)
			}
		}
	}
	return snap, missing
}

// noExistPath is huggingface_hub's marker for a file the repository does
// not have at a commit.
func (c *Client) noExistPath(repo, commit, name string) string {
	return filepath.Join(c.repoDir(repo), ".no_exist", commit, filepath.FromSlash(name))
}

func (c *Client) knownAbsent(repo, commit, name string) bool {
	_, err := os.Stat(c.noExistPath(repo, commit, name))
	return err == nil
}

func (c *Client) allAbsent(repo, commit string, names []string) bool {
	for _, n := range names {
		if !c.knownAbsent(repo, commit, n) {
			return false
		}
	}
	return true
}

// CachedModel is a model repository in the Hugging Face cache.
type CachedModel struct {
	// Repo is the repository, "ORG/NAME".
	Repo string
	// Dir is its folder in the cache.
	Dir string
	// Size is the total size of its blobs, in bytes.
	Size int64
	// Revisions are its snapshots, newest first.
	Revisions []CachedRevision
}

// CachedRevision is one snapshot of a cached model.
type CachedRevision struct {
	// Commit is the commit hash.
	Commit string
	// Refs are the branches and tags that point to it ("main").
	Refs []string
	// Files are the file names in the snapshot, sorted.
	Files []string
	// Size is the total size of the snapshot's files, in bytes.
	Size int64
	// Complete is false when a file links to a missing blob.
	Complete bool
	// Modified is when the snapshot last changed, in Unix seconds.
	Modified int64
}

// List returns the model repositories in a hub cache directory, sorted by
// name; an absent directory holds none. It returns ragd.EInternal when the
// directory cannot be read.
func List(cacheDir string) ([]CachedModel, error) {
	entries, err := os.ReadDir(cacheDir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, ragd.WrapError(ragd.EInternal, err, "cannot read the Hugging Face cache %s", cacheDir)
	}
	var models []CachedModel
	for _, e := range entries {
		name, ok := strings.CutPrefix(e.Name(), "models--")
		if !ok || !e.IsDir() {
			continue
		}
		m, err := listModel(filepath.Join(cacheDir, e.Name()), strings.ReplaceAll(name, "--", "/"))
		if err != nil {
			return nil, ragd.WrapError(ragd.EInternal, err, "cannot read the Hugging Face cache %s", cacheDir)
		}
		models = append(models, m)
	}
	sort.Slice(models, func(i, j int) bool { return models[i].Repo < models[j].Repo })
	return models, nil
}

func listModel(dir, repo string) (CachedModel, error) {
	m := CachedModel{Repo: repo, Dir: dir}
	blobs, err := os.ReadDir(filepath.Join(dir, "blobs"))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return m, err
	}
	for _, b := range blobs {
		if info, err := b.Info(); err == nil && info.Mode().IsRegular() {
			m.Size += info.Size()
		}
	}
	refs := map[string][]string{} // commit -> refs
	refsDir := filepath.Join(dir, "refs")
	err = filepath.WalkDir(refsDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(refsDir, p)
		if err != nil {
			return err
		}
		commit := strings.TrimSpace(string(b))
		refs[commit] = append(refs[commit], filepath.ToSlash(rel))
		return nil
	})
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return m, err
	}
	snapsDir := filepath.Join(dir, "snapshots")
	snaps, err := os.ReadDir(snapsDir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return m, err
	}
	for _, s := range snaps {
		if !s.IsDir() {
			continue
		}
		rev := CachedRevision{Commit: s.Name(), Refs: refs[s.Name()], Complete: true}
		sort.Strings(rev.Refs)
		root := filepath.Join(snapsDir, s.Name())
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if info, err := d.Info(); err == nil && info.ModTime().Unix() > rev.Modified {
				rev.Modified = info.ModTime().Unix()
			}
			if d.IsDir() {
				return nil
			}
			rel, err := filepath.Rel(root, p)
			if err != nil {
				return err
			}
			rev.Files = append(rev.Files, filepath.ToSlash(rel))
			info, err := os.Stat(p) // follows the link to the blob
			if err != nil {
				rev.Complete = false
				return nil
			}
			rev.Size += info.Size()
			return nil
		})
		if err != nil {
			return m, err
		}
		sort.Strings(rev.Files)
		m.Revisions = append(m.Revisions, rev)
	}
	sort.Slice(m.Revisions, func(i, j int) bool {
		a, b := m.Revisions[i], m.Revisions[j]
		if a.Modified != b.Modified {
			return a.Modified > b.Modified
		}
		return a.Commit < b.Commit
	})
	return m, nil
}
