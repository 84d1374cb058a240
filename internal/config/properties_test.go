package config

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestParseProperties(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []property
	}{
		{"equals", "a=1", []property{{"a", "1", 1}}},
		{"colon", "a: 1", []property{{"a", "1", 1}}},
		{"space", "a 1", []property{{"a", "1", 1}}},
		{"blanks around separator", "a \t = \f 1", []property{{"a", "1", 1}}},
		{"only one separator consumed", "a==1", []property{{"a", "=1", 1}}},
		{"separator after blank", "a : =1", []property{{"a", "=1", 1}}},
		{"value keeps inner separators", "server.1=h:2888:3888;2181", []property{{"server.1", "h:2888:3888;2181", 1}}},
		{"key without value", "a", []property{{"a", "", 1}}},
		{"empty key", "=x", []property{{"", "x", 1}}},
		{"leading blanks", "   \t a=1", []property{{"a", "1", 1}}},
		{"trailing blanks trimmed", "a=1  \t", []property{{"a", "1", 1}}},
		{"hash comment", "# a=1\nb=2", []property{{"b", "2", 2}}},
		{"bang comment", "  ! a=1\nb=2", []property{{"b", "2", 2}}},
		{"hash inside value", "a=1#2", []property{{"a", "1#2", 1}}},
		{"blank lines", "\n\n  \n\ta=1\n\n", []property{{"a", "1", 4}}},
		{"crlf", "a=1\r\nb=2\r\n", []property{{"a", "1", 1}, {"b", "2", 2}}},
		{"lone cr", "a=1\rb=2", []property{{"a", "1", 1}, {"b", "2", 2}}},
		{"continuation", "a=1,\\\n    2,\\\n\t3\nb=4", []property{{"a", "1,2,3", 1}, {"b", "4", 4}}},
		{"continuation crlf", "a=x\\\r\n  y\r\nb=2", []property{{"a", "xy", 1}, {"b", "2", 3}}},
		{"continuation of key", "ab\\\n  c=1", []property{{"abc", "1", 1}}},
		{"even backslashes do not continue", "a=x\\\\\nb=2", []property{{"a", `x\`, 1}, {"b", "2", 2}}},
		{"comment does not continue", "# x\\\na=1", []property{{"a", "1", 2}}},
		{"continued comment marker is text", "a=\\\n#1", []property{{"a", "#1", 1}}},
		{"blank line ends continuation", "a=1\\\n\nb=2", []property{{"a", "1", 1}, {"b", "2", 3}}},
		{"backslash at end of file", "a=1\\", []property{{"a", "1", 1}}},
		{"escaped separator in key", `a\=b\:c\ d=1`, []property{{"a=b:c d", "1", 1}}},
		{"control escapes", `a=x\ty\nz\rw\f`, []property{{"a", "x\ty\nz\rw", 1}}}, // trailing \f trimmed
		{"unicode escape", `a=caf\u00e9 \u0041`, []property{{"a", "café A", 1}}},
		{"surrogate pair", `a=\uD83D\uDE00`, []property{{"a", "😀", 1}}},
		{"lone surrogate", `a=\uD83Dx`, []property{{"a", "\uFFFDx", 1}}},
		{"unneeded escape dropped", `a=C:\zk\data`, []property{{"a", "C:zkdata", 1}}},
		{"value escaped blank kept then trimmed", `a=\ x`, []property{{"a", "x", 1}}},
		{"utf8 passes through", "a=päth", []property{{"a", "päth", 1}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, _, err := parseProperties([]byte(tt.in))
			if err != nil {
				t.Fatalf("parseProperties(%q): got error %v, want none", tt.in, err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("parseProperties(%q):\n got %+v\nwant %+v", tt.in, got, tt.want)
			}
		})
	}
}

func TestParsePropertiesMalformedEscape(t *testing.T) {
	for _, in := range []string{`dataDir=C:\users`, `a=\u12`, `a=\u12G4`, `\uZZZZ=1`} {
		_, _, err := parseProperties([]byte(in))
		if err == nil {
			t.Errorf("parseProperties(%q): got no error, want a malformed escape error", in)
			continue
		}
		if !errors.Is(err, errMalformedEscape) || err.Line != 1 || !strings.Contains(err.Error(), `\uXXXX`) {
			t.Errorf("parseProperties(%q): got %v (line %d), want a malformed \\uXXXX error on line 1", in, err, err.Line)
		}
	}
}

func TestParsePropertiesEscapeWarning(t *testing.T) {
	_, warnings, err := parseProperties([]byte(`dataDir=D:\zk`))
	if err != nil {
		t.Fatal(err)
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0], `"\z"`) {
		t.Errorf("got warnings %q, want one about \\z", warnings)
	}
	_, warnings, _ = parseProperties([]byte(`a=x\:y\=z\\w\ v`))
	if len(warnings) != 0 {
		t.Errorf("got warnings %q for ordinary escapes, want none", warnings)
	}
}

func TestDecodeInt32(t *testing.T) {
	tests := []struct {
		in   string
		want int
		ok   bool
	}{
		{"100", 100, true}, {"+100", 100, true}, {"-100", -100, true}, {"0", 0, true},
		{"0x1F", 31, true}, {"0X1f", 31, true}, {"#ff", 255, true}, {"-0x10", -16, true}, {"010", 8, true},
		{"2147483647", 2147483647, true}, {"-2147483648", -2147483648, true},
		{"2147483648", 0, false}, {"", 0, false}, {"-", 0, false}, {"0x", 0, false}, {"#", 0, false},
		{"08", 0, false}, {"0x-1", 0, false}, {"--1", 0, false}, {"1e3", 0, false}, {" 1", 0, false},
	}
	for _, tt := range tests {
		got, ok := decodeInt32(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("decodeInt32(%q): got %d, %v; want %d, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}
