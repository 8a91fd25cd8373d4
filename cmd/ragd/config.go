package main

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/ragd/ragd/ingest/extract"
	"github.com/ragd/ragd/ingest/fetch"
	"github.com/ragd/ragd/migrations"
	"github.com/ragd/ragd/store/qdrant"
)

// Config is ragd's configuration. Each field has a YAML key and an
// environment variable (RAGD_ plus the upper-cased key unless the env tag
// says otherwise); secrets may also be read from a file named by the
// variable with _FILE appended. Precedence: flags > environment > config
// file > defaults.
type Config struct {
	Addr    string `yaml:"addr" help:"listen address"`
	DataDir string `yaml:"data_dir" help:"directory of the local store, model cache links and job state"`

	Store        string `yaml:"store" help:"index store: local, postgres or qdrant"`
	DatabaseURL  string `yaml:"database_url" secret:"true" help:"Postgres connection string"`
	DBSchema     string `yaml:"database_schema" help:"Postgres schema holding ragd's tables"`
	QdrantURL    string `yaml:"qdrant_url" help:"Qdrant gRPC address (host:port)"`
	QdrantAPIKey string `yaml:"qdrant_api_key" secret:"true" help:"Qdrant API key"`
	QdrantPrefix string `yaml:"qdrant_prefix" help:"start of the names of ragd's Qdrant collections, so deployments can share one Qdrant"`

	Embedder  string `yaml:"embedder" help:"embedder of new collections: bge-small-en-v1.5, bge-base-en-v1.5, bge-large-en-v1.5, workersai:MODEL, openai:MODEL, hash:DIM (tests and demos), none"`
	ModelDir  string `yaml:"model_dir" help:"local model directory (Hugging Face layout) for the built-in embedder"`
	HFHome    string `yaml:"hf_home" env:"HF_HOME" help:"Hugging Face home (models cache under hub/)"`
	HFCache   string `yaml:"hf_hub_cache" env:"HF_HUB_CACHE" help:"Hugging Face hub cache directory"`
	HFURL     string `yaml:"hf_endpoint" env:"HF_ENDPOINT" help:"Hugging Face Hub URL"`
	HFToken   string `yaml:"hf_token" env:"HF_TOKEN" secret:"true" help:"Hugging Face token"`
	Offline   bool   `yaml:"offline" help:"never download models"`
	HFOffline bool   `yaml:"hf_hub_offline" env:"HF_HUB_OFFLINE" help:"Hugging Face's offline switch (1 or true): the same as offline"`

	LLM           string `yaml:"llm" help:"answer model: workersai:MODEL, openai:MODEL, extractive, or auto"`
	ContextWindow int    `yaml:"llm_context_window" help:"the LLM's context window in tokens (0: known value for the model)"`
	MaxTokens     int    `yaml:"llm_max_tokens" help:"default answer length in tokens"`
	Reranker      string `yaml:"reranker" help:"optional reranker: workersai:MODEL or openai:URL-of-a-TEI-server"`
	LLMTokenizer  string `yaml:"llm_tokenizer" help:"Llama 3 tokenizer file (tokenizer.json or tokenizer.model) for exact prompt token counts"`

	CloudflareAccountID string `yaml:"cloudflare_account_id" env:"CLOUDFLARE_ACCOUNT_ID" help:"Workers AI account id"`
	CloudflareAPIToken  string `yaml:"cloudflare_api_token" env:"CLOUDFLARE_API_TOKEN" secret:"true" help:"Workers AI API token"`
	WorkersAIURL        string `yaml:"workers_ai_url" help:"Workers AI API base URL"`
	AIGateway           string `yaml:"ai_gateway" help:"AI Gateway id; when set, Workers AI calls go through the gateway"`
	OpenAIURL           string `yaml:"openai_url" help:"OpenAI-compatible server base URL, ending in /v1"`
	OpenAIAPIKey        string `yaml:"openai_api_key" secret:"true" help:"OpenAI-compatible server API key"`

	APIKeys        []string      `yaml:"api_keys" secret:"true" help:"comma-separated API keys; when set every /v1 route needs one"`
	MaxUploadBytes int64         `yaml:"max_upload_bytes" help:"largest document upload body"`
	ExtractTimeout time.Duration `yaml:"extract_timeout" help:"how long parsing one file (PDF, DOCX, HTML, large Markdown) may take"`
	ExtractMemory  int64         `yaml:"extract_memory_limit" help:"memory, in bytes, that parsing one file may use"`
	IngestRoots    []string      `yaml:"ingest_roots" help:"server directories that batch jobs may read"`
	FetchAllow     []string      `yaml:"fetch_allow" help:"comma-separated address ranges (CIDR) that URL jobs may fetch although they are private or loopback, such as an intranet wiki; cloud metadata addresses stay refused unless named alone"`
	FetchPorts     []string      `yaml:"fetch_ports" help:"comma-separated ports that URL jobs may fetch from (default 80,443)"`
	ShutdownGrace  time.Duration `yaml:"shutdown_grace" help:"how long open streams may finish at shutdown"`
	LogLevel       string        `yaml:"log_level" help:"debug, info, warn or error"`
	LogFormat      string        `yaml:"log_format" help:"text or json"`

	// URL and APIKey are what the CLI talks to the server with.
	URL    string `yaml:"url" help:"ragd server URL for CLI commands"`
	APIKey string `yaml:"api_key" secret:"true" help:"API key the CLI sends to the server"`
}

// DefaultConfig returns the defaults: the embedded store, the built-in
// BGE small embedder, and the LLM chosen from the credentials present.
func DefaultConfig() Config {
	return Config{
		Addr:           ":8080",
		DataDir:        "./ragd-data",
		Store:          "local",
		DBSchema:       migrations.DefaultSchema,
		QdrantPrefix:   qdrant.DefaultPrefix,
		ExtractTimeout: extract.DefaultTimeout,
		ExtractMemory:  extract.DefaultMemoryLimit,
		Embedder:       "bge-small-en-v1.5",
		LLM:            "auto",
		MaxTokens:      512,
		WorkersAIURL:   "https://api.cloudflare.com",
		HFURL:          "https://huggingface.co",
		MaxUploadBytes: 100 << 20,
		ShutdownGrace:  10 * time.Second,
		LogLevel:       "info",
		LogFormat:      "text",
		URL:            "http://localhost:8080",
	}
}

// configField describes one configuration key.
type configField struct {
	key, env, help string
	secret         bool
	index          int
}

func configFields() []configField {
	t := reflect.TypeFor[Config]()
	out := make([]configField, 0, t.NumField())
	for i := range t.NumField() {
		f := t.Field(i)
		key := f.Tag.Get("yaml")
		env := f.Tag.Get("env")
		if env == "" {
			env = "RAGD_" + strings.ToUpper(key)
		}
		out = append(out, configField{key: key, env: env, help: f.Tag.Get("help"), secret: f.Tag.Get("secret") == "true", index: i})
	}
	return out
}

// LoadConfig builds the configuration from defaults, the YAML file at path
// (if not empty), the environment read through getenv, and flag values
// (key -> value, already parsed from the command line). Unknown keys and
// bad values are errors that name the key.
func LoadConfig(getenv func(string) string, path string, flags map[string]string) (Config, error) {
	cfg := DefaultConfig()
	if path == "" {
		path = getenv("RAGD_CONFIG")
	}
	if path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			return cfg, fmt.Errorf("config file: %w", err)
		}
		var raw map[string]yaml.Node
		if err := yaml.Unmarshal(data, &raw); err != nil {
			return cfg, fmt.Errorf("config file %s: %w", path, err)
		}
		for k := range raw {
			if !slices.ContainsFunc(configFields(), func(f configField) bool { return f.key == k }) {
				return cfg, fmt.Errorf("config file %s: unknown key %q", path, k)
			}
		}
		if err := yaml.Unmarshal(data, &cfg); err != nil {
			return cfg, fmt.Errorf("config file %s: %w", path, err)
		}
	}
	v := reflect.ValueOf(&cfg).Elem()
	for _, f := range configFields() {
		val, from := getenv(f.env), f.env
		if file := getenv(f.env + "_FILE"); file != "" && val == "" {
			data, err := os.ReadFile(file)
			if err != nil {
				return cfg, fmt.Errorf("%s_FILE: %w", f.env, err)
			}
			val, from = strings.TrimSpace(string(data)), f.env+"_FILE"
		}
		if val == "" {
			continue
		}
		if err := setField(v.Field(f.index), val); err != nil {
			return cfg, fmt.Errorf("%s: %w", from, err)
		}
	}
	for key, val := range flags {
		i := slices.IndexFunc(configFields(), func(f configField) bool { return f.key == key })
		if i < 0 {
			return cfg, fmt.Errorf("unknown configuration key %q", key)
		}
		if err := setField(v.Field(configFields()[i].index), val); err != nil {
			return cfg, fmt.Errorf("--%s: %w", strings.ReplaceAll(key, "_", "-"), err)
		}
	}
	return cfg, cfg.Validate()
}

func setField(f reflect.Value, val string) error {
	switch f.Interface().(type) {
	case string:
		f.SetString(val)
	case bool:
		b, err := strconv.ParseBool(val)
		if err != nil {
			return fmt.Errorf("%q is not a boolean", val)
		}
		f.SetBool(b)
	case int, int64:
		n, err := strconv.ParseInt(val, 10, 64)
		if err != nil {
			return fmt.Errorf("%q is not an integer", val)
		}
		f.SetInt(n)
	case time.Duration:
		d, err := time.ParseDuration(val)
		if err != nil {
			return fmt.Errorf("%q is not a duration (like 10s)", val)
		}
		f.SetInt(int64(d))
	case []string:
		var list []string
		for _, s := range strings.Split(val, ",") {
			if s = strings.TrimSpace(s); s != "" {
				list = append(list, s)
			}
		}
		f.Set(reflect.ValueOf(list))
	default:
		return fmt.Errorf("unsupported type %s", f.Type())
	}
	return nil
}

// Validate checks values that do not depend on the outside world.
func (c Config) Validate() error {
	switch c.Store {
	case "local":
	case "postgres":
		if c.DatabaseURL == "" {
			return errors.New("store: postgres needs database_url (RAGD_DATABASE_URL)")
		}
		if err := migrations.ValidateSchema(c.DBSchema); err != nil {
			return fmt.Errorf("database_schema: %w", err)
		}
	case "qdrant":
		if c.QdrantURL == "" {
			return errors.New("store: qdrant needs qdrant_url (RAGD_QDRANT_URL)")
		}
		if err := qdrant.CheckPrefix(c.QdrantPrefix); err != nil {
			return fmt.Errorf("qdrant_prefix: %w", err)
		}
	default:
		return fmt.Errorf("store: %q is not local, postgres or qdrant", c.Store)
	}
	if c.DataDir == "" {
		return errors.New("data_dir: must not be empty")
	}
	if c.ExtractTimeout <= 0 {
		return fmt.Errorf("extract_timeout: %v is not positive", c.ExtractTimeout)
	}
	if c.ExtractMemory < 512<<20 {
		// Measured: the PDF engine (PDFium compiled to WebAssembly) does
		// not start in 384 MiB.
		return fmt.Errorf("extract_memory_limit: %d bytes is less than 512 MiB, too little for the PDF parser", c.ExtractMemory)
	}
	if c.MaxTokens < 1 {
		return fmt.Errorf("llm_max_tokens: %d is not positive", c.MaxTokens)
	}
	if c.ContextWindow < 0 || (c.ContextWindow > 0 && c.ContextWindow <= c.MaxTokens) {
		return fmt.Errorf("llm_context_window: %d must be 0 or larger than llm_max_tokens (%d)", c.ContextWindow, c.MaxTokens)
	}
	if c.MaxUploadBytes < 1 {
		return fmt.Errorf("max_upload_bytes: %d is not positive", c.MaxUploadBytes)
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		return fmt.Errorf("log_level: %q is not debug, info, warn or error", c.LogLevel)
	}
	switch c.LogFormat {
	case "text", "json":
	default:
		return fmt.Errorf("log_format: %q is not text or json", c.LogFormat)
	}
	if _, err := c.fetchConfig(); err != nil {
		return err
	}
	if err := validateModelRef("embedder", c.Embedder, true); err != nil {
		return err
	}
	if c.LLM != "auto" && c.LLM != "extractive" {
		if err := validateModelRef("llm", c.LLM, false); err != nil {
			return err
		}
	}
	if c.Reranker != "" {
		if err := validateModelRef("reranker", c.Reranker, false); err != nil {
			return err
		}
	}
	if strings.HasPrefix(c.LLM, "workersai:") || strings.HasPrefix(c.Embedder, "workersai:") || strings.HasPrefix(c.Reranker, "workersai:") {
		if c.CloudflareAccountID == "" || c.CloudflareAPIToken == "" {
			return errors.New("workersai models need cloudflare_account_id and cloudflare_api_token (CLOUDFLARE_ACCOUNT_ID, CLOUDFLARE_API_TOKEN)")
		}
	}
	if strings.HasPrefix(c.LLM, "openai:") || strings.HasPrefix(c.Embedder, "openai:") {
		if c.OpenAIURL == "" {
			return errors.New("openai models need openai_url (RAGD_OPENAI_URL), the server's base URL ending in /v1")
		}
	}
	return nil
}

// fetchConfig is the URL fetch policy of batch jobs: the defaults (public
// addresses, ports 80 and 443) widened only by fetch_allow and fetch_ports.
func (c Config) fetchConfig() (fetch.Config, error) {
	var fc fetch.Config
	for _, a := range c.FetchAllow {
		p, err := netip.ParsePrefix(a)
		if err != nil {
			addr, aerr := netip.ParseAddr(a)
			if aerr != nil {
				return fc, fmt.Errorf("fetch_allow: %q is not an address range like 10.1.0.0/16", a)
			}
			p = netip.PrefixFrom(addr, addr.BitLen())
		}
		fc.Allow = append(fc.Allow, p.Masked())
	}
	for _, s := range c.FetchPorts {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 65535 {
			return fc, fmt.Errorf("fetch_ports: %q is not a port number", s)
		}
		fc.Ports = append(fc.Ports, n)
	}
	return fc, nil
}

// validateModelRef checks a provider:model reference.
func validateModelRef(key, ref string, builtins bool) error {
	provider, model, ok := strings.Cut(ref, ":")
	switch {
	case builtins && !ok:
		return nil // a built-in name, checked when the embedder is resolved
	case !ok || model == "":
		return fmt.Errorf("%s: %q must be provider:model (workersai:... or openai:...)", key, ref)
	case provider == "workersai" || provider == "openai":
		return nil
	case builtins && provider == "hash":
		if n, err := strconv.Atoi(model); err != nil || n < 8 || n > 4096 {
			return fmt.Errorf("%s: %q needs a dimension between 8 and 4096, like hash:384", key, ref)
		}
		return nil
	}
	return fmt.Errorf("%s: provider %q in %q is not workersai or openai", key, provider, ref)
}
