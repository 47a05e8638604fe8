package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

func TestParseSize(t *testing.T) {
	tests := []struct {
		in      string
		want    int64
		wantErr bool
	}{
		{"100MB", 100_000_000, false},
		{"64KB", 64_000, false},
		{"1GB", 1_000_000_000, false},
		{"12345", 12345, false},
		{"", 0, true},
		{"MB", 0, true},
		{"-5MB", 0, true},
		{"0", 0, true},
		{"10 MB", 0, true},
	}
	for _, tt := range tests {
		got, err := parseSize(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("parseSize(%q) = %d, %v; want %d, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

// The window is whole ELB lines, each from its own client, at least the
// size asked for and less than one line over.
func TestWriteWindow(t *testing.T) {
	path := filepath.Join(t.TempDir(), "window.log")
	const size = 200_000
	if err := writeWindow(path, size); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := bytes.Split(bytes.TrimSuffix(b, []byte("\n")), []byte("\n"))
	if len(b) < size || len(b) >= size+len(lines[0])+len("\n")+16 {
		t.Errorf("window is %d bytes, want %d up to one line more", len(b), size)
	}
	if b[len(b)-1] != '\n' {
		t.Error("window does not end with a whole line")
	}
	clients := map[string]bool{}
	for i, l := range lines {
		f := bytes.Fields(l)
		// time, elb, client:port, backend:port, 3 times, 2 codes, 2 sizes, "request" (3 fields), "agent..." , cipher, protocol
		if len(f) < 15 || string(f[1]) != "bench" || f[11][0] != '"' {
			t.Fatalf("line %d is not an ELB line: %q", i, l)
		}
		clients[string(f[2])] = true
	}
	if len(clients) != len(lines) {
		t.Errorf("%d distinct clients in %d lines, want one each", len(clients), len(lines))
	}
}
