// Package deploy_test checks the Docker Compose deployment and the Dockerfile
// without a Docker engine: the compose file is loaded, interpolated and
// normalized by the compose-spec reference loader for every profile, and the
// result is checked against what ragd needs.
package deploy_test

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/google/go-cmp/cmp"
)

const composeFile = "../docker-compose.yml"

// load loads the compose project with the given profiles and environment
// (and nothing from the process environment).
func load(t *testing.T, profiles []string, env ...string) *types.Project {
	t.Helper()
	opts, err := cli.NewProjectOptions([]string{composeFile},
		cli.WithWorkingDirectory(".."),
		cli.WithEnv(env),
		cli.WithProfiles(profiles),
		cli.WithInterpolation(true),
		cli.WithNormalization(true),
		cli.WithResolvedPaths(true),
	)
	if err != nil {
		t.Fatal(err)
	}
	p, err := opts.LoadProject(context.Background())
	if err != nil {
		t.Fatalf("loading %s with profiles %v: %v", composeFile, profiles, err)
	}
	return p
}

func names(s types.Services) []string {
	var out []string
	for n := range s {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

func TestProfiles(t *testing.T) {
	base := []string{"ollama", "ollama-pull", "ragd"}
	for _, tc := range []struct {
		profiles []string
		want     []string
	}{
		{nil, base},
		{[]string{"postgres"}, append(slices.Clone(base), "postgres", "ragd-postgres")},
		{[]string{"qdrant"}, append(slices.Clone(base), "qdrant", "ragd-qdrant")},
		{[]string{"postgres", "qdrant"}, append(slices.Clone(base), "postgres", "qdrant", "ragd-postgres", "ragd-qdrant")},
	} {
		p := load(t, tc.profiles)
		want := slices.Clone(tc.want)
		sort.Strings(want)
		if diff := cmp.Diff(want, names(p.Services)); diff != "" {
			t.Errorf("profiles %v: services (-want +got):\n%s", tc.profiles, diff)
		}
	}
}

// imageTag matches "name:tag" with an explicit tag.
var imageTag = regexp.MustCompile(`^[a-z0-9./_-]+:([A-Za-z0-9._-]+)$`)

func TestImagesArePinned(t *testing.T) {
	p := load(t, []string{"postgres", "qdrant"})
	images := map[string]string{}
	for name, s := range p.Services {
		m := imageTag.FindStringSubmatch(s.Image)
		if m == nil || m[1] == "latest" {
			t.Errorf("service %s: image %q has no pinned tag", name, s.Image)
			continue
		}
		images[name] = s.Image
	}
	// pgvector 0.8.2 fixes CVE-2026-3172 (RELIABILITY.md finding 6).
	m := regexp.MustCompile(`^pgvector/pgvector:0\.8\.(\d+)-pg\d+`).FindStringSubmatch(images["postgres"])
	if m == nil {
		t.Errorf("postgres image %q is not a pgvector 0.8.x image", images["postgres"])
	} else if patch, _ := strconv.Atoi(m[1]); patch < 2 {
		t.Errorf("postgres image %q has pgvector older than 0.8.2", images["postgres"])
	}
	if !strings.HasPrefix(images["qdrant"], "qdrant/qdrant:v1.19.") {
		t.Errorf("qdrant image %q: the store is built against the v1.19 API", images["qdrant"])
	}
	if images["ollama"] != images["ollama-pull"] || !strings.HasPrefix(images["ollama"], "ollama/ollama:") {
		t.Errorf("ollama images %q and %q: want the same pinned ollama/ollama", images["ollama"], images["ollama-pull"])
	}
	for _, name := range []string{"ragd", "ragd-postgres", "ragd-qdrant"} {
		s := p.Services[name]
		if s.Build == nil || s.Build.Context != filepath.Clean(filepath.Join(mustAbs(t, ".."))) {
			t.Errorf("%s: builds from %+v, want the repository root", name, s.Build)
		}
		if s.Build != nil && filepath.Base(s.Build.Dockerfile) != "Dockerfile" {
			t.Errorf("%s: Dockerfile %q", name, s.Build.Dockerfile)
		}
	}
}

func mustAbs(t *testing.T, p string) string {
	t.Helper()
	abs, err := filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	return abs
}

func env(s types.ServiceConfig) map[string]string {
	out := map[string]string{}
	for k, v := range s.Environment {
		if v != nil {
			out[k] = *v
		}
	}
	return out
}

func TestRagdServices(t *testing.T) {
	p := load(t, []string{"postgres", "qdrant"})
	common := map[string]string{
		"RAGD_ADDR":       ":8080",
		"RAGD_DATA_DIR":   "/var/lib/ragd",
		"RAGD_LLM":        "openai:llama3.1:8b",
		"RAGD_EMBEDDER":   "openai:bge-m3",
		"RAGD_OPENAI_URL": "http://ollama:11434/v1",
		"RAGD_API_KEYS":   "",
	}
	with := func(extra map[string]string) map[string]string {
		m := map[string]string{}
		for k, v := range common {
			m[k] = v
		}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	for _, tc := range []struct {
		service string
		port    string
		volume  string
		env     map[string]string
		deps    map[string]string
	}{
		{"ragd", "8080", "ragd-data", with(map[string]string{"RAGD_STORE": "local"}),
			map[string]string{"ollama-pull": types.ServiceConditionCompletedSuccessfully}},
		{"ragd-postgres", "8081", "ragd-postgres-data", with(map[string]string{
			"RAGD_STORE":        "postgres",
			"RAGD_DATABASE_URL": "postgres://ragd:ragd@postgres:5432/ragd?sslmode=disable",
		}), map[string]string{"postgres": types.ServiceConditionHealthy, "ollama-pull": types.ServiceConditionCompletedSuccessfully}},
		{"ragd-qdrant", "8082", "ragd-qdrant-data", with(map[string]string{
			"RAGD_STORE":          "qdrant",
			"RAGD_QDRANT_URL":     "http://qdrant:6334",
			"RAGD_QDRANT_API_KEY": "",
		}), map[string]string{"qdrant": types.ServiceConditionHealthy, "ollama-pull": types.ServiceConditionCompletedSuccessfully}},
	} {
		s := p.Services[tc.service]
		if diff := cmp.Diff(tc.env, env(s)); diff != "" {
			t.Errorf("%s environment (-want +got):\n%s", tc.service, diff)
		}
		if len(s.Ports) != 1 || s.Ports[0].Published != tc.port || s.Ports[0].Target != 8080 {
			t.Errorf("%s ports = %+v, want %s:8080", tc.service, s.Ports, tc.port)
		}
		if len(s.Volumes) != 1 || s.Volumes[0].Type != types.VolumeTypeVolume || s.Volumes[0].Source != tc.volume || s.Volumes[0].Target != "/var/lib/ragd" {
			t.Errorf("%s volumes = %+v, want %s at /var/lib/ragd", tc.service, s.Volumes, tc.volume)
		}
		deps := map[string]string{}
		for name, d := range s.DependsOn {
			deps[name] = d.Condition
			if !d.Required {
				t.Errorf("%s: dependency %s is optional", tc.service, name)
			}
		}
		if diff := cmp.Diff(tc.deps, deps); diff != "" {
			t.Errorf("%s depends_on (-want +got):\n%s", tc.service, diff)
		}
		hc := strings.Join(s.HealthCheck.Test, " ")
		if s.HealthCheck == nil || !strings.Contains(hc, "http://127.0.0.1:8080/readyz") {
			t.Errorf("%s health check = %q, want a GET of /readyz", tc.service, hc)
		}
		if s.Restart != types.RestartPolicyUnlessStopped {
			t.Errorf("%s restart = %q", tc.service, s.Restart)
		}
	}

	// Settings come through from the environment.
	p = load(t, []string{"postgres"}, "RAGD_CHAT_MODEL=llama3.2:3b", "RAGD_EMBED_MODEL=nomic-embed-text", "POSTGRES_PASSWORD=s3cret", "RAGD_API_KEYS=k1,k2")
	got := env(p.Services["ragd-postgres"])
	for k, want := range map[string]string{
		"RAGD_LLM":          "openai:llama3.2:3b",
		"RAGD_EMBEDDER":     "openai:nomic-embed-text",
		"RAGD_DATABASE_URL": "postgres://ragd:s3cret@postgres:5432/ragd?sslmode=disable",
		"RAGD_API_KEYS":     "k1,k2",
	} {
		if got[k] != want {
			t.Errorf("with settings, %s = %q, want %q", k, got[k], want)
		}
	}
	if pw := env(p.Services["postgres"])["POSTGRES_PASSWORD"]; pw != "s3cret" {
		t.Errorf("postgres password = %q", pw)
	}
	pull := env(p.Services["ollama-pull"])
	if pull["RAGD_CHAT_MODEL"] != "llama3.2:3b" || pull["RAGD_EMBED_MODEL"] != "nomic-embed-text" {
		t.Errorf("ollama-pull does not pull the configured models: %v", pull)
	}
}

func TestBackingServices(t *testing.T) {
	p := load(t, []string{"postgres", "qdrant"})
	for _, tc := range []struct {
		service, volume, target, probe string
	}{
		{"postgres", "postgres-data", "/var/lib/postgresql/data", "pg_isready"},
		{"qdrant", "qdrant-data", "/qdrant/storage", "/readyz"},
		{"ollama", "ollama-models", "/root/.ollama", "ollama list"},
	} {
		s := p.Services[tc.service]
		if s.HealthCheck == nil || !strings.Contains(strings.Join(s.HealthCheck.Test, " "), tc.probe) {
			t.Errorf("%s health check = %+v, want one using %q", tc.service, s.HealthCheck, tc.probe)
		}
		if s.HealthCheck != nil && (s.HealthCheck.Interval == nil || s.HealthCheck.Retries == nil) {
			t.Errorf("%s health check has no interval or retries", tc.service)
		}
		if len(s.Volumes) != 1 || s.Volumes[0].Type != types.VolumeTypeVolume || s.Volumes[0].Source != tc.volume || s.Volumes[0].Target != tc.target {
			t.Errorf("%s volumes = %+v, want %s at %s", tc.service, s.Volumes, tc.volume, tc.target)
		}
		if len(s.Ports) != 0 {
			t.Errorf("%s publishes ports %+v; only ragd should", tc.service, s.Ports)
		}
	}
	pg := env(p.Services["postgres"])
	if pg["POSTGRES_USER"] != "ragd" || pg["POSTGRES_DB"] != "ragd" || pg["POSTGRES_PASSWORD"] != "ragd" {
		t.Errorf("postgres environment = %v", pg)
	}

	pull := p.Services["ollama-pull"]
	if pull.Restart != types.RestartPolicyNo {
		t.Errorf("ollama-pull restart = %q, want no", pull.Restart)
	}
	if d, ok := pull.DependsOn["ollama"]; !ok || d.Condition != types.ServiceConditionHealthy {
		t.Errorf("ollama-pull depends_on = %+v", pull.DependsOn)
	}
	if env(pull)["OLLAMA_HOST"] != "http://ollama:11434" {
		t.Errorf("ollama-pull talks to %q", env(pull)["OLLAMA_HOST"])
	}
	script := ""
	for _, v := range pull.Volumes {
		if v.Type == types.VolumeTypeBind && v.ReadOnly {
			script = v.Source
		}
	}
	if !slices.Contains(pull.Entrypoint, "/deploy/ollama-pull.sh") || filepath.Base(script) != "ollama-pull.sh" {
		t.Fatalf("ollama-pull runs %v with %q mounted", pull.Entrypoint, script)
	}
	body, err := os.ReadFile(script)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"ollama pull", "RAGD_CHAT_MODEL", "RAGD_EMBED_MODEL", "set -eu"} {
		if !strings.Contains(string(body), want) {
			t.Errorf("%s lacks %q", script, want)
		}
	}

	var declared []string
	for name := range p.Volumes {
		declared = append(declared, name)
	}
	sort.Strings(declared)
	want := []string{"ollama-models", "postgres-data", "qdrant-data", "ragd-data", "ragd-postgres-data", "ragd-qdrant-data"}
	if diff := cmp.Diff(want, declared); diff != "" {
		t.Errorf("named volumes (-want +got):\n%s", diff)
	}
}

func TestDockerfile(t *testing.T) {
	body, err := os.ReadFile("../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	var from []string
	var user, healthcheck string
	lines := strings.Split(strings.ReplaceAll(string(body), "\\\n", " "), "\n")
	for _, l := range lines {
		f := strings.Fields(l)
		if len(f) == 0 || strings.HasPrefix(f[0], "#") {
			continue
		}
		switch strings.ToUpper(f[0]) {
		case "FROM":
			from = append(from, f[1])
		case "USER":
			user = f[1]
		case "HEALTHCHECK":
			healthcheck = l
		}
	}
	if len(from) < 2 {
		t.Errorf("FROM %v: want a multi-stage build", from)
	}
	for _, img := range from {
		if m := imageTag.FindStringSubmatch(img); m == nil || m[1] == "latest" {
			t.Errorf("base image %q is not pinned", img)
		}
	}
	if !strings.Contains(string(body), "CGO_ENABLED=0") {
		t.Error("the binary is not built with CGO_ENABLED=0")
	}
	if uid := strings.SplitN(user, ":", 2)[0]; uid == "" || uid == "0" || uid == "root" {
		t.Errorf("USER %q: want a non-root user", user)
	}
	if !strings.Contains(healthcheck, "/readyz") {
		t.Errorf("HEALTHCHECK %q: want a check of /readyz", healthcheck)
	}
	ignore, err := os.ReadFile("../.dockerignore")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{".git", "ragd-data"} {
		if !slices.Contains(strings.Split(string(ignore), "\n"), want) {
			t.Errorf(".dockerignore does not exclude %s", want)
		}
	}
}
