package main

import (
	"context"
	"strings"
	"testing"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/openai"
	"github.com/ragd/ragd/openai/openaitest"
)

// TestOpenAICompatibleEndpoints talks to ragd's /v1/embeddings and
// /v1/chat/completions with ragd's own OpenAI-compatible client, which
// parses OpenAI's wire format independently of the server code.
func TestOpenAICompatibleEndpoints(t *testing.T) {
	fake := openaitest.NewServer(t, openaitest.Options{Answer: "Plain chat answer."})
	cfg := withOpenAI(testConfig(t), fake)
	srv := startApp(t, cfg)
	if code, _ := uploadFiles(t, srv.URL+"/v1/collections/kb/documents", []fileUpload{{"refunds.md", "# Refunds\n\nRefunds are issued within 14 days of the request."}}); code != 201 {
		t.Fatalf("upload: %d", code)
	}
	ctx := context.Background()

	// RAG chat: model rag:kb answers from the collection, streamed.
	rag, err := openai.New(openai.Config{BaseURL: srv.URL + "/v1", ChatModel: "rag:kb", EmbeddingModel: cfg.Embedder})
	if err != nil {
		t.Fatal(err)
	}
	var text strings.Builder
	usage, err := rag.ChatStream(ctx, ragd.ChatRequest{Messages: []ragd.Message{{Role: "user", Content: "How long do refunds take?"}}, MaxTokens: 100}, func(d string) error {
		text.WriteString(d)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if text.String() != "Plain chat answer." || usage.CompletionTokens == 0 {
		t.Errorf("rag chat = %q, usage %+v", text.String(), usage)
	}
	last := fake.Requests()[len(fake.Requests())-1]
	if !strings.Contains(string(last.Body), "Refunds are issued within 14 days") {
		t.Errorf("the upstream prompt lacks the retrieved source: %s", last.Body)
	}

	// Plain chat passes through to the configured LLM.
	plain, _ := openai.New(openai.Config{BaseURL: srv.URL + "/v1", ChatModel: "llama3.1:8b"})
	text.Reset()
	if _, err := plain.ChatStream(ctx, ragd.ChatRequest{Messages: []ragd.Message{{Role: "user", Content: "hi"}}, MaxTokens: 10}, func(d string) error {
		text.WriteString(d)
		return nil
	}); err != nil || text.String() != "Plain chat answer." {
		t.Errorf("plain chat = %q, %v", text.String(), err)
	}

	// Embeddings through ragd equal the embedder's own.
	vecs, err := rag.EmbedDocuments(ctx, []string{"refund window", "another text"})
	if err != nil || len(vecs) != 2 || len(vecs[0]) != openaitest.Dim {
		t.Fatalf("embeddings: %v, %d vectors", err, len(vecs))
	}
	direct, _ := openai.New(fake.Config())
	want, _ := direct.EmbedDocuments(ctx, []string{"refund window"})
	for i := range want[0] {
		if d := want[0][i] - vecs[0][i]; d > 1e-6 || d < -1e-6 {
			t.Fatalf("embedding through ragd differs at %d: %v vs %v", i, vecs[0][i], want[0][i])
		}
	}

	// Models list the LLM, the embedder and rag:COLLECTION.
	var models struct{ Data []struct{ ID string } }
	call(t, "GET", srv.URL+"/v1/models", nil, &models)
	ids := []string{}
	for _, m := range models.Data {
		ids = append(ids, m.ID)
	}
	if strings.Join(ids, ",") != "llama3.1:8b,"+cfg.Embedder+",rag:kb" {
		t.Errorf("models = %v", ids)
	}

	// Errors keep the envelope: an unknown collection is a 404.
	var e struct{ Error struct{ Code string } }
	if code := call(t, "POST", srv.URL+"/v1/chat/completions", map[string]any{"model": "rag:nope", "messages": []map[string]string{{"role": "user", "content": "q"}}}, &e); code != 404 || e.Error.Code != ragd.ENotFound {
		t.Errorf("unknown collection: %d %+v", code, e)
	}
}
