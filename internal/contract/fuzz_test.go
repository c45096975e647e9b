package contract

import (
	"regexp"
	"testing"
	"unicode/utf8"
)

// FuzzPattern: whatever pattern a spec holds, generation ends quickly and
// what it returns as matching does match, within the lengths asked.
func FuzzPattern(f *testing.F) {
	for _, p := range []string{`^[A-Z]{2}-\d{3}$`, `(a|b)+c?`, `^\w+@\w+\.com$`, `(a{1000}){1000}`, `[^\x00-\x7f]`, `\bfoo\B`, `(?i)abc`, `x*y*z*`} {
		f.Add(p, uint8(0), uint8(20))
	}
	f.Fuzz(func(t *testing.T, p string, lo, hi uint8) {
		re, err := regexp.Compile(p)
		if err != nil {
			return
		}
		g := NewGenerator(uint64(lo)<<8|uint64(hi), Request)
		s, ok := g.fromPattern(p, int(lo), int(hi))
		if !ok {
			return
		}
		if n := utf8.RuneCountInString(s); n < int(lo) || n > int(hi) || !re.MatchString(s) {
			t.Fatalf("pattern %q [%d,%d]: %q (%d runes)", p, lo, hi, s, n)
		}
	})
}
