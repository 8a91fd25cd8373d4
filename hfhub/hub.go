package hfhub

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/ragd/ragd"
)

// DefaultEndpoint is the Hugging Face Hub.
const DefaultEndpoint = "https://huggingface.co"

// Config configures access to the Hub and the local cache. The package
// reads no environment variables; cmd/ragd fills this from HF_ENDPOINT,
// HF_TOKEN, HF_HUB_OFFLINE and CacheDir.
type Config struct {
	// Endpoint is the Hub's base URL (HF_ENDPOINT); DefaultEndpoint when
	// empty. It may carry a path prefix, as mirrors do.
	Endpoint string
	// Token, when set, is sent as a bearer token (HF_TOKEN), to the Hub
	// only: a redirect to another host (the CDN) does not carry it.
	Token string
	// CacheDir is the hub cache directory, laid out as huggingface_hub lays
	// it out (see CacheDir).
	CacheDir string
	// HTTPClient makes the requests; a plain client when nil. Deadlines
	// come from the context.
	HTTPClient *http.Client
	// Offline forbids network access: only the cache is used.
	Offline bool
	// UserAgent is sent with every request; "ragd" when empty.
	UserAgent string
}

// Client finds models in a directory, in the Hugging Face cache, or on the
// Hub. It is safe for concurrent use, and with other processes sharing the
// cache (huggingface_hub included): downloads of a blob are serialized by
// the same lock files huggingface_hub uses.
type Client struct {
	endpoint string
	token    string
	cacheDir string
	http     *http.Client
	offline  bool
	agent    string
}

// New returns a client for the configuration.
func New(cfg Config) *Client {
	c := &Client{
		endpoint: strings.TrimRight(cfg.Endpoint, "/"),
		token:    cfg.Token,
		cacheDir: cfg.CacheDir,
		offline:  cfg.Offline,
		agent:    cfg.UserAgent,
	}
	if c.endpoint == "" {
		c.endpoint = DefaultEndpoint
	}
	base := http.Client{}
	if cfg.HTTPClient != nil {
		base = *cfg.HTTPClient
	}
	next := base.CheckRedirect
	base.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		// Like huggingface_hub, send the token to the Hub only: the CDN's
		// signed URLs need none (and S3 refuses a second credential), even
		// on a subdomain, where net/http would keep it.
		if req.URL.Host != via[0].URL.Host {
			req.Header.Del("Authorization")
		}
		if next != nil {
			return next(req, via)
		}
		if len(via) >= 10 {
			return errors.New("stopped after 10 redirects")
		}
		return nil
	}
	c.http = &base
	if c.agent == "" {
		c.agent = "ragd/" + ragd.Version
	}
	return c
}

// Files says which files of a repository a model needs.
type Files struct {
	// Required files must exist.
	Required []string
	// Optional files are fetched when the repository has them.
	Optional []string
	// OneOf lists groups of optional files of which at least one must
	// exist (for example tokenizer.json or vocab.txt). Name each of them
	// in Optional too.
	OneOf [][]string
}

// SentenceTransformerFiles returns the files of a BERT-family
// sentence-transformers model such as BAAI/bge-small-en-v1.5: the config
// and safetensors weights, the tokenizer (tokenizer.json or vocab.txt, and
// its config), and the sentence-transformers module and pooling configs.
func SentenceTransformerFiles() Files {
	return Files{
		Required: []string{"config.json", "model.safetensors"},
		Optional: []string{
			"tokenizer.json", "vocab.txt", "tokenizer_config.json", "special_tokens_map.json",
			"modules.json", "1_Pooling/config.json", "config_sentence_transformers.json", "sentence_bert_config.json",
		},
		OneOf: [][]string{{"tokenizer.json", "vocab.txt"}},
	}
}

func (f Files) all() []string {
	return append(append([]string(nil), f.Required...), f.Optional...)
}

// Request names the model to get.
type Request struct {
	// Dir, when set, is a model directory given in the configuration: Get
	// uses it (see FromDir) and neither the cache nor the Hub.
	Dir string
	// Repo is the model's repository on the Hub, "ORG/NAME".
	Repo string
	// Revision is a branch, tag or commit; "main" when empty.
	Revision string
	// Files lists the files wanted.
	Files Files
	// Update asks the Hub which commit the revision points to now, even
	// when the cache holds the files of the commit it pointed to before.
	Update bool
	// Progress, when set, is called as downloads advance.
	Progress func(Progress)
}

// Source says where a model's files were found.
type Source string

// Sources of a Snapshot.
const (
	SourceDir   Source = "dir"   // a directory given in the configuration
	SourceCache Source = "cache" // the Hugging Face cache, without downloading
	SourceHub   Source = "hub"   // downloaded from the Hub into the cache
)

// Snapshot is a model's files on disk.
type Snapshot struct {
	// Repo is the repository, empty for a directory.
	Repo string
	// Revision is the commit hash, empty for a directory.
	Revision string
	// Dir holds the files, by their names in the repository.
	Dir string
	// Source says where the files came from.
	Source Source
}

// Path returns the path of a file of the snapshot.
func (s Snapshot) Path(name string) string {
	return filepath.Join(s.Dir, filepath.FromSlash(name))
}

// Has reports whether the snapshot has the named file.
func (s Snapshot) Has(name string) bool {
	_, err := os.Stat(s.Path(name))
	return err == nil
}

// String describes where the snapshot is, for logs and /readyz.
func (s Snapshot) String() string {
	if s.Source == SourceDir {
		return s.Dir
	}
	return fmt.Sprintf("%s@%s (%s)", s.Repo, s.Revision, s.Dir)
}

// FromDir checks that dir, a model directory in Hugging Face layout, has
// the files wanted. It returns ragd.EInvalid naming the first missing
// file.
func FromDir(dir string, files Files) (Snapshot, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return Snapshot{}, ragd.WrapError(ragd.EInvalid, err, "model directory %s cannot be read", dir)
	}
	if !st.IsDir() {
		return Snapshot{}, ragd.Errorf(ragd.EInvalid, "model directory %s is not a directory", dir)
	}
	snap := Snapshot{Dir: dir, Source: SourceDir}
	for _, name := range files.Required {
		if !snap.Has(name) {
			return Snapshot{}, ragd.Errorf(ragd.EInvalid, "model directory %s has no %s", dir, name)
		}
	}
	for _, group := range files.OneOf {
		if !hasAny(snap, group) {
			return Snapshot{}, ragd.Errorf(ragd.EInvalid, "model directory %s has none of %s", dir, strings.Join(group, ", "))
		}
	}
	return snap, nil
}

func hasAny(s Snapshot, names []string) bool {
	for _, n := range names {
		if s.Has(n) {
			return true
		}
	}
	return false
}

// Get returns the files of a model: from req.Dir when it is set, else
// from the cache when it holds them, else downloaded from the Hub into the
// cache. Errors are *ragd.Error:
// EInvalid for a malformed request or a missing cache directory, ENotFound
// for a repository, revision or required file the Hub does not have,
// EUnauthorized or EForbidden for a gated or private repository,
// EUnavailable when the Hub cannot be reached or offline mode meets an
// incomplete cache, EUpstream for a download that fails verification, and
// ERateLimited when the Hub refuses for now.
func (c *Client) Get(ctx context.Context, req Request) (Snapshot, error) {
	if req.Dir != "" {
		return FromDir(req.Dir, req.Files)
	}
	if err := validateRepo(req.Repo); err != nil {
		return Snapshot{}, err
	}
	for _, name := range req.Files.all() {
		if err := validateFile(name); err != nil {
			return Snapshot{}, err
		}
	}
	if c.cacheDir == "" {
		return Snapshot{}, ragd.Errorf(ragd.EInvalid, "no Hugging Face cache directory is configured")
	}
	rev := req.Revision
	if rev == "" {
		rev = "main"
	}
	if strings.Contains(rev, "..") || strings.HasPrefix(rev, "/") {
		return Snapshot{}, ragd.Errorf(ragd.EInvalid, "revision %q is not valid", rev)
	}
	if !req.Update || c.offline {
		snap, missing := c.fromCache(req.Repo, rev, req.Files, c.offline)
		if len(missing) == 0 {
			return snap, nil
		}
		if c.offline {
			return Snapshot{}, ragd.Errorf(ragd.EUnavailable,
				"offline mode: the Hugging Face cache (%s) has no complete copy of %s@%s; missing %s",
				c.cacheDir, req.Repo, rev, strings.Join(missing, ", "))
		}
	}
	return c.download(ctx, req.Repo, rev, req.Files, req.Progress)
}

var (
	repoPart  = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)
	commitSHA = regexp.MustCompile(`^[0-9a-f]{40}$`)
)

func validateRepo(repo string) error {
	parts := strings.Split(repo, "/")
	ok := len(parts) <= 2
	for _, p := range parts {
		ok = ok && repoPart.MatchString(p) && !strings.Contains(p, "--") && !strings.Contains(p, "..") && len(p) <= 96
	}
	if !ok {
		return ragd.Errorf(ragd.EInvalid, "model repository %q is not a valid Hub name (want ORG/NAME)", repo)
	}
	return nil
}

func validateFile(name string) error {
	if name == "" || strings.HasPrefix(name, "/") || strings.Contains(name, "\\") || path.Clean(name) != name || strings.HasPrefix(name, "../") || name == ".." {
		return ragd.Errorf(ragd.EInvalid, "file name %q is not a valid path inside a repository", name)
	}
	return nil
}
