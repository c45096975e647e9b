package yamlx

import "strings"

// Suggest returns the known key a mistyped one most likely meant, or "" when
// none is close. It compares keys with case, "_" and "-" ignored (so
// "function-id" finds "function_id" and "serviceaccountid" finds
// "serviceAccountId"), then by edit distance, then by one name containing
// the other ("headers" → "allowedHeaders") or a shared stem ("queue_id" →
// "queue_url"). Ties go to the earlier key of known.
func Suggest(key string, known []string) string {
	k := normalizeKey(key)
	if k == "" {
		return ""
	}
	best, bestScore := "", 1<<30
	for _, cand := range known {
		if cand == key {
			continue
		}
		if s := keyDistance(k, normalizeKey(cand)); s < bestScore {
			best, bestScore = cand, s
		}
	}
	return best
}

// keyDistance scores how far apart two normalised keys are; 1<<30 means
// "not a suggestion".
func keyDistance(a, b string) int {
	const none = 1 << 30
	if a == b {
		return 0
	}
	if d := levenshtein(a, b); d <= maxEdits(a, b) {
		return d
	}
	short, long := a, b
	if len(short) > len(long) {
		short, long = long, short
	}
	if len(short) >= 5 && 2*len(short) >= len(long) && strings.Contains(long, short) {
		return 10 + len(long) - len(short)
	}
	if p := commonPrefix(a, b); p >= 5 {
		return 20 + max(len(a), len(b)) - p
	}
	return none
}

// maxEdits allows about one edit in four characters, at least one.
func maxEdits(a, b string) int {
	return max(1, max(len(a), len(b))/4)
}

func normalizeKey(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '_' || c == '-':
		case c >= 'A' && c <= 'Z':
			b.WriteByte(c + 'a' - 'A')
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

func commonPrefix(a, b string) int {
	n := 0
	for n < len(a) && n < len(b) && a[n] == b[n] {
		n++
	}
	return n
}

// levenshtein is the edit distance of two short ASCII keys.
func levenshtein(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
