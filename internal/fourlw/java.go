package fourlw

import (
	"math"
	"math/big"
	"net"
	"strconv"
	"strings"
)

// javaHex is Java's Long.toHexString: lower-case, no leading zeros, and a
// negative value as its 64-bit two's complement (-1 is "ffffffffffffffff").
func javaHex(v int64) string {
	return strconv.FormatUint(uint64(v), 16)
}

// roundHalfUp4 rounds v to 4 decimal places, halves away from zero, on v's
// exact binary value. That is what ZooKeeper's AvgMinMaxCounter.getAvg does
// with new BigDecimal(avg).setScale(4, HALF_UP).doubleValue(), and why srvr
// shows "4.8571". Go's own rounding (math.Round(v*1e4), FormatFloat) would
// differ on exact ties such as 1.03125 and on values whose product rounds.
func roundHalfUp4(v float64) float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return v
	}
	x := new(big.Float).SetPrec(256).SetFloat64(math.Abs(v)) // exact: 53 bits + 14 for 1e4 + carry
	x.Mul(x, big.NewFloat(10000))
	x.Add(x, big.NewFloat(0.5))
	n, _ := x.Int(nil) // truncates; x >= 0, so this is floor(|v|*1e4 + 0.5)
	r, _ := new(big.Rat).SetFrac(n, big.NewInt(10000)).Float64()
	if v < 0 {
		r = -r
	}
	return r
}

// javaDouble is Java's Double.toString: at least one digit after the point
// ("0.0", "95.0", "2.5714"), and computerized scientific notation outside
// [1e-3, 1e7) ("1.0E7", "1.0E-4").
func javaDouble(v float64) string {
	switch {
	case math.IsNaN(v):
		return "NaN"
	case math.IsInf(v, 1):
		return "Infinity"
	case math.IsInf(v, -1):
		return "-Infinity"
	case v == 0:
		if math.Signbit(v) {
			return "-0.0"
		}
		return "0.0"
	}
	if a := math.Abs(v); a >= 1e-3 && a < 1e7 {
		s := strconv.FormatFloat(v, 'f', -1, 64)
		if !strings.Contains(s, ".") {
			s += ".0"
		}
		return s
	}
	s := strconv.FormatFloat(v, 'e', -1, 64) // "1.2345e+07", "1e-04"
	mant, exp, _ := strings.Cut(s, "e")
	if !strings.Contains(mant, ".") {
		mant += ".0"
	}
	e, _ := strconv.Atoi(exp) // "+07" -> 7, "-04" -> -4
	return mant + "E" + strconv.Itoa(e)
}

// javaSocketAddr shows a Go address ("127.0.0.1:4711", "[::1]:4711") the way
// Java's InetSocketAddress.toString shows an accepted client's address: no
// host name, a slash, the IP (IPv6 uncompressed, in brackets), the port.
// Anything that does not parse is shown after a slash unchanged.
func javaSocketAddr(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "/" + addr
	}
	ipText, zone, _ := strings.Cut(host, "%")
	ip := net.ParseIP(ipText)
	if ip == nil {
		return "/" + host + ":" + port
	}
	if ip4 := ip.To4(); ip4 != nil {
		return "/" + ip4.String() + ":" + port
	}
	var b strings.Builder
	b.WriteString("/[")
	for i := 0; i < 16; i += 2 {
		if i > 0 {
			b.WriteByte(':')
		}
		b.WriteString(strconv.FormatUint(uint64(ip[i])<<8|uint64(ip[i+1]), 16))
	}
	if zone != "" {
		b.WriteByte('%')
		b.WriteString(zone)
	}
	b.WriteString("]:")
	b.WriteString(port)
	return b.String()
}
