package proto

import (
	"errors"
	"testing"
)

func TestValidatePath(t *testing.T) {
	tests := []struct {
		path       string
		sequential bool
		want       string // "" = valid
	}{
		{"/", false, ""},
		{"/zookeeper", false, ""},
		{"/a/b/c", false, ""},
		{"/a.b/..c/...", false, ""},
		{"/a/.b", false, ""},
		{"/a/b.", false, ""},
		{"/héllo/世界", false, ""},
		{"/\u00a0", false, ""},
		{"/\uf900", false, ""},
		{"/\uffef", false, ""},
		{"", false, "Path length must be > 0"},
		{"a/b", false, "Path must start with / character"},
		{"/a/", false, "Path must not end with / character"},
		{"//", false, "Path must not end with / character"},
		{"/a//b", false, `Invalid path string "/a//b" caused by empty node name specified @3`},
		{"//a", false, `Invalid path string "//a" caused by empty node name specified @1`},
		{"/a/.", false, `Invalid path string "/a/." caused by relative paths not allowed @3`},
		{"/a/..", false, `Invalid path string "/a/.." caused by relative paths not allowed @4`},
		{"/./a", false, `Invalid path string "/./a" caused by relative paths not allowed @1`},
		{"/../a", false, `Invalid path string "/../a" caused by relative paths not allowed @2`},
		{"/.", false, `Invalid path string "/." caused by relative paths not allowed @1`},
		{"/a\x00b", false, "Invalid path string \"/a\x00b\" caused by null character not allowed @2"},
		{"/a\x01", false, "Invalid path string \"/a\x01\" caused by invalid character @2"},
		{"/a\x1f", false, "Invalid path string \"/a\x1f\" caused by invalid character @2"},
		{"/\x7f", false, "Invalid path string \"/\x7f\" caused by invalid character @1"},
		{"/\u0085", false, "Invalid path string \"/\u0085\" caused by invalid character @1"},
		{"/\u009f", false, "Invalid path string \"/\u009f\" caused by invalid character @1"},
		{"/\ue000", false, "Invalid path string \"/\ue000\" caused by invalid character @1"},
		{"/\uf8ff", false, "Invalid path string \"/\uf8ff\" caused by invalid character @1"},
		{"/\ufff0", false, "Invalid path string \"/\ufff0\" caused by invalid character @1"},
		{"/\uffff", false, "Invalid path string \"/\uffff\" caused by invalid character @1"},
		// Outside the BMP: a surrogate pair in Java, so invalid.
		{"/a😀", false, "Invalid path string \"/a😀\" caused by invalid character @2"},
		// Positions count UTF-16 units, not bytes: "世" is 3 bytes, 1 unit.
		{"/世/\x01", false, "Invalid path string \"/世/\x01\" caused by invalid character @3"},
		// Invalid UTF-8 decodes to U+FFFD in Java.
		{"/a\xff", false, "Invalid path string \"/a\xff\" caused by invalid character @2"},
		// Sequential: the server appends a counter, so a trailing '/' is fine.
		{"/a/", true, ""},
		{"/a/b-", true, ""},
		{"/", true, ""},
		{"/a//", true, `Invalid path string "/a//1" caused by empty node name specified @3`},
		{"a", true, "Path must start with / character"},
		{"", true, "Path must start with / character"},
	}
	for _, tc := range tests {
		err := ValidatePath(tc.path, tc.sequential)
		if tc.want == "" {
			if err != nil {
				t.Errorf("ValidatePath(%q, %v): got %v, want nil", tc.path, tc.sequential, err)
			}
			continue
		}
		if err == nil {
			t.Errorf("ValidatePath(%q, %v): got nil, want %q", tc.path, tc.sequential, tc.want)
			continue
		}
		if err.Error() != tc.want {
			t.Errorf("ValidatePath(%q, %v): got %q, want %q", tc.path, tc.sequential, err, tc.want)
		}
		if !errors.Is(err, ErrInvalidPath) {
			t.Errorf("ValidatePath(%q): got error not matching ErrInvalidPath", tc.path)
		}
	}
}
