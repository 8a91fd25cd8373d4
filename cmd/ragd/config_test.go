package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func writeConfig(t *testing.T, yaml string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "ragd.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func envOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// TestConfigPrecedence: flags win over the environment, which wins over
// the file, which wins over the defaults; secrets can come from files.
func TestConfigPrecedence(t *testing.T) {
	path := writeConfig(t, "addr: :7000\nlog_level: warn\nmax_upload_bytes: 1000\nshutdown_grace: 3s\ningest_roots: [/srv/a, /srv/b]\n")
	secret := filepath.Join(t.TempDir(), "token")
	os.WriteFile(secret, []byte("s3cret\n"), 0o600)
	env := map[string]string{
		"RAGD_LOG_LEVEL":            "error",
		"RAGD_MAX_UPLOAD_BYTES":     "2000",
		"RAGD_OPENAI_API_KEY_FILE":  secret,
		"HF_HUB_OFFLINE":            "1",
		"RAGD_FETCH_PORTS":          "80, 8443",
		"RAGD_EXTRACT_MEMORY_LIMIT": "1073741824",
	}
	cfg, err := LoadConfig(envOf(env), path, map[string]string{"max_upload_bytes": "3000"})
	if err != nil {
		t.Fatal(err)
	}
	want := DefaultConfig()
	if cfg.Addr != ":7000" || cfg.LogLevel != "error" || cfg.MaxUploadBytes != 3000 || cfg.ShutdownGrace != 3*time.Second ||
		strings.Join(cfg.IngestRoots, ",") != "/srv/a,/srv/b" || cfg.OpenAIAPIKey != "s3cret" || !cfg.HFOffline ||
		strings.Join(cfg.FetchPorts, ",") != "80,8443" || cfg.ExtractMemory != 1<<30 ||
		cfg.DataDir != want.DataDir || cfg.Store != "local" || cfg.QdrantPrefix != "ragd_" || cfg.ExtractTimeout != 30*time.Second {
		t.Errorf("config = %+v", cfg)
	}
	if _, err := LoadConfig(envOf(map[string]string{"RAGD_CONFIG": path}), "", nil); err != nil {
		t.Errorf("RAGD_CONFIG: %v", err)
	}
}

// TestConfigErrors: every bad value is an error that names its key.
func TestConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		name, yaml string
		env        map[string]string
		want       string
	}{
		{"unknown file key", "adress: :80\n", nil, `unknown key "adress"`},
		{"bad integer", "", map[string]string{"RAGD_MAX_UPLOAD_BYTES": "lots"}, "RAGD_MAX_UPLOAD_BYTES"},
		{"bad duration", "", map[string]string{"RAGD_EXTRACT_TIMEOUT": "30"}, "RAGD_EXTRACT_TIMEOUT"},
		{"unknown store", "store: mongo\n", nil, `store: "mongo"`},
		{"postgres without url", "store: postgres\n", nil, "database_url"},
		{"bad schema", "store: postgres\ndatabase_url: postgres://x\ndatabase_schema: \"a;drop\"\n", nil, "database_schema"},
		{"qdrant without url", "store: qdrant\n", nil, "qdrant_url"},
		{"bad qdrant prefix", "store: qdrant\nqdrant_url: q:6334\nqdrant_prefix: a/b\n", nil, "qdrant_prefix"},
		{"extract memory too small", "extract_memory_limit: 1000\n", nil, "extract_memory_limit"},
		{"zero extract timeout", "extract_timeout: 0s\n", nil, "extract_timeout"},
		{"missing secret file", "", map[string]string{"RAGD_API_KEYS_FILE": "/nonexistent/keys"}, "RAGD_API_KEYS_FILE"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := ""
			if tc.yaml != "" {
				path = writeConfig(t, tc.yaml)
			}
			_, err := LoadConfig(envOf(tc.env), path, nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want one naming %q", err, tc.want)
			}
		})
	}
	if _, err := LoadConfig(envOf(nil), "", map[string]string{"no_such_key": "1"}); err == nil {
		t.Error("unknown flag key accepted")
	}
}
