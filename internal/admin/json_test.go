package admin

import (
	"encoding/json"
	"testing"
)

func TestMarshalJacksonLayout(t *testing.T) {
	tests := []struct {
		name string
		in   any
		want string
	}{
		{"empty object", Object{}, "{ }"},
		{"nil object", Object(nil), "{ }"},
		{"scalars", Object{{"a", 1}, {"b", "x"}, {"c", nil}, {"d", true}, {"e", 4.0}, {"f", json.Number("0.5")}},
			"{\n  \"a\" : 1,\n  \"b\" : \"x\",\n  \"c\" : null,\n  \"d\" : true,\n  \"e\" : 4.0,\n  \"f\" : 0.5\n}"},
		{"arrays inline", Object{{"s", []string{"/a", "/e"}}, {"n", []int64{7}}, {"none", []Object{}}},
			"{\n  \"s\" : [ \"/a\", \"/e\" ],\n  \"n\" : [ 7 ],\n  \"none\" : [ ]\n}"},
		// Objects in an array indent by the enclosing objects only.
		{"objects in array", Object{{"l", []Object{{{"k", 1}}, {{"k", 2}}}}},
			"{\n  \"l\" : [ {\n    \"k\" : 1\n  }, {\n    \"k\" : 2\n  } ]\n}"},
		{"nested", Object{{"o", Object{{"p", Object{{"q", int64(-1)}}}}}},
			"{\n  \"o\" : {\n    \"p\" : {\n      \"q\" : -1\n    }\n  }\n}"},
		{"escapes but not html", Object{{"k", "a\"b\\c\n<&>"}}, "{\n  \"k\" : \"a\\\"b\\\\c\\n<&>\"\n}"},
	}
	for _, tt := range tests {
		if got := string(marshal(tt.in)); got != tt.want {
			t.Errorf("%s: got\n%s\nwant\n%s", tt.name, got, tt.want)
		}
	}
}

func TestObjectPutKeepsPlace(t *testing.T) {
	var o Object
	o.Put("a", 1)
	o.Put("b", 2)
	o.Put("a", 3)
	if got, want := string(marshal(o)), "{\n  \"a\" : 3,\n  \"b\" : 2\n}"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestJavaDouble(t *testing.T) {
	tests := []struct {
		in   float64
		want string
	}{
		{0, "0.0"}, {4, "4.0"}, {4.5, "4.5"}, {0.0012, "0.0012"}, {-2.25, "-2.25"},
		{1e7, "1.0E7"}, {1.5e-5, "1.5E-5"}, {123456.789, "123456.789"},
	}
	for _, tt := range tests {
		if got := javaDouble(tt.in); got != tt.want {
			t.Errorf("javaDouble(%v): got %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestRoundHalfUp4(t *testing.T) {
	tests := []struct{ in, want float64 }{
		{4, 4}, {1.23456, 1.2346}, {1.23454, 1.2345}, {0.00005, 0.0001}, {2.5, 2.5},
	}
	for _, tt := range tests {
		if got := roundHalfUp4(tt.in); got != tt.want {
			t.Errorf("roundHalfUp4(%v): got %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestIsJSONNumber(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"0", true}, {"-1", true}, {"4.0", true}, {"1e5", true}, {"1.5E-3", true},
		{"", false}, {"-", false}, {"1.", false}, {".5", false}, {"NaN", false}, {"Inf", false},
		{"0x10", false}, {"1_000", false}, {"3.9.0-zkd-0.1.0", false}, {"standalone", false}, {"1e", false},
	}
	for _, tt := range tests {
		if got := isJSONNumber(tt.in); got != tt.want {
			t.Errorf("isJSONNumber(%q): got %v, want %v", tt.in, got, tt.want)
		}
	}
}
