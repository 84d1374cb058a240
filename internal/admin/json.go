package admin

import (
	"bytes"
	"encoding/json"
	"math"
	"strconv"
	"strings"
)

// Object is a JSON object that keeps its keys in insertion order, like the
// LinkedHashMap ZooKeeper's CommandResponse is built from. Values may be nil,
// bool, string, any integer type, float64 (printed as a Java double, e.g.
// 4.0), json.Number (printed verbatim), Object, or a slice of these.
type Object []Field

// Field is one key of an Object.
type Field struct {
	Key   string
	Value any
}

// Put sets key, keeping its place if it is already there (LinkedHashMap.put).
func (o *Object) Put(key string, v any) {
	for i := range *o {
		if (*o)[i].Key == key {
			(*o)[i].Value = v
			return
		}
	}
	*o = append(*o, Field{key, v})
}

// Get returns key's value.
func (o Object) Get(key string) (any, bool) {
	for _, f := range o {
		if f.Key == key {
			return f.Value, true
		}
	}
	return nil, false
}

// Has reports whether key is present.
func (o Object) Has(key string) bool {
	_, ok := o.Get(key)
	return ok
}

// marshal prints v the way ZooKeeper's JsonOutputter (Jackson's default
// pretty printer) does: objects one key per line indented two spaces per
// nested object, arrays inline ("[ 1, 2 ]"), and "key" : value. Matching it
// keeps zkd's replies diffable against ZooKeeper's.
func marshal(v any) []byte {
	var b bytes.Buffer
	writeValue(&b, v, 0)
	return b.Bytes()
}

func writeValue(b *bytes.Buffer, v any, depth int) {
	switch x := v.(type) {
	case nil:
		b.WriteString("null")
	case bool:
		b.WriteString(strconv.FormatBool(x))
	case string:
		writeString(b, x)
	case int:
		b.WriteString(strconv.Itoa(x))
	case int32:
		b.WriteString(strconv.FormatInt(int64(x), 10))
	case int64:
		b.WriteString(strconv.FormatInt(x, 10))
	case uint64:
		b.WriteString(strconv.FormatUint(x, 10))
	case float64:
		b.WriteString(javaDouble(x))
	case json.Number:
		b.WriteString(string(x))
	case Object:
		writeObject(b, x, depth)
	case []Object:
		writeArray(b, len(x), func(i int) { writeObject(b, x[i], depth) })
	case []string:
		writeArray(b, len(x), func(i int) { writeString(b, x[i]) })
	case []int64:
		writeArray(b, len(x), func(i int) { b.WriteString(strconv.FormatInt(x[i], 10)) })
	case []any:
		writeArray(b, len(x), func(i int) { writeValue(b, x[i], depth) })
	default:
		// A programming error, not input: print something valid and visible.
		writeString(b, "unsupported value")
	}
}

func writeObject(b *bytes.Buffer, o Object, depth int) {
	if len(o) == 0 {
		b.WriteString("{ }")
		return
	}
	b.WriteString("{")
	for i, f := range o {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString("\n")
		b.WriteString(strings.Repeat("  ", depth+1))
		writeString(b, f.Key)
		b.WriteString(" : ")
		writeValue(b, f.Value, depth+1)
	}
	b.WriteString("\n")
	b.WriteString(strings.Repeat("  ", depth))
	b.WriteString("}")
}

func writeArray(b *bytes.Buffer, n int, elem func(i int)) {
	if n == 0 {
		b.WriteString("[ ]")
		return
	}
	b.WriteString("[ ")
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteString(", ")
		}
		elem(i)
	}
	b.WriteString(" ]")
}

func writeString(b *bytes.Buffer, s string) {
	var tmp bytes.Buffer
	enc := json.NewEncoder(&tmp)
	// Jackson leaves <, > and & alone; so do we.
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		b.WriteString(`""`)
		return
	}
	b.Write(bytes.TrimSuffix(tmp.Bytes(), []byte("\n")))
}

// javaDouble formats v as Java's Double.toString does for the values the
// admin commands print: at least one digit after the point ("4.0"), and
// scientific notation outside [1e-3, 1e7) ("1.0E7"). NaN and infinities,
// which JSON cannot carry, print as null.
func javaDouble(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "null"
	}
	if a := math.Abs(v); a == 0 || (a >= 1e-3 && a < 1e7) {
		s := strconv.FormatFloat(v, 'f', -1, 64)
		if !strings.Contains(s, ".") {
			s += ".0"
		}
		return s
	}
	s := strconv.FormatFloat(v, 'E', -1, 64) // 1E+07, 1.5E-05
	mant, exp, _ := strings.Cut(s, "E")
	if !strings.Contains(mant, ".") {
		mant += ".0"
	}
	neg := strings.HasPrefix(exp, "-")
	exp = strings.TrimLeft(strings.TrimLeft(exp, "+-"), "0")
	if neg {
		exp = "-" + exp
	}
	return mant + "E" + exp
}

// roundHalfUp4 rounds to 4 decimals, half away from zero, as ZooKeeper's
// AvgMinMaxCounter.getAvg does (BigDecimal HALF_UP) before the value is
// printed. Ties that binary floating point cannot represent exactly may
// round differently in the last place; latencies do not care.
func roundHalfUp4(v float64) float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return v
	}
	return math.Copysign(math.Floor(math.Abs(v)*1e4+0.5)/1e4, v)
}

// isJSONNumber reports whether s is a JSON number literal, so a value
// parsed from mntr's text can be printed as a number rather than a string.
func isJSONNumber(s string) bool {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	digits := func() int {
		n := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
			n++
		}
		return n
	}
	if digits() == 0 {
		return false
	}
	if i < len(s) && s[i] == '.' {
		i++
		if digits() == 0 {
			return false
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if digits() == 0 {
			return false
		}
	}
	return i == len(s)
}
