//go:build race

package security

// raceEnabled: the race detector slows Coraza twenty-fold; the suites of
// thousands of requests run without it (scripts/test runs them so).
const raceEnabled = true
