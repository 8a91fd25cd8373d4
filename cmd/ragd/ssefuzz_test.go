package main

import (
	"bytes"
	"strings"
	"testing"
)

// FuzzReadSSE feeds arbitrary bytes to the CLI's event stream reader: it
// never panics, delivers no data with a line break in it, and returns nil
// only right after a done event.
func FuzzReadSSE(f *testing.F) {
	f.Add([]byte("event: progress\ndata: {\"type\":\"progress\"}\n\nevent: done\ndata: {}\n\n"))
	f.Add([]byte("event: error\ndata: {\"error\":{\"code\":\"unavailable\",\"message\":\"bye\"}}\n\n"))
	f.Add([]byte(": comment\r\ndata:a\r\ndata: b\r\n\r\nevent:done\r\n\r\n"))
	f.Add([]byte("event: item\ndata: {\"type\":\"item\"}\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		var last string
		err := readSSE(bytes.NewReader(in), "the stream", func(name string, data []byte) error {
			if bytes.ContainsAny(data, "\r\n") || strings.ContainsAny(name, "\r\n") {
				t.Fatalf("event %q with a line break in %q", name, data)
			}
			last = name
			return nil
		})
		if err == nil && last != "done" {
			t.Fatalf("nil error after last event %q", last)
		}
	})
}
