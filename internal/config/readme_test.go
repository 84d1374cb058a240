package config

import (
	"os"
	"strings"
	"testing"
)

// TestReadmeDocumentsEveryKey keeps the README's configuration table in step
// with the keys zkd honours.
func TestReadmeDocumentsEveryKey(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatalf("reading the README: %v", err)
	}
	readme := string(b)
	for _, k := range Keys() {
		if !strings.Contains(readme, "| `"+k.Key+"` | "+k.Default+" |") {
			t.Errorf("README lacks the row for %s (default %s)", k.Key, k.Default)
		}
	}
}
