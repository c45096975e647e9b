package contract

import (
	"encoding/xml"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/apigw/apigw/internal/policy/validate"
)

// Summary counts a run.
type Summary struct {
	Operations, Requests, Checks, Failed int
	Elapsed                              time.Duration
}

// Summarize counts results.
func Summarize(results []Result, elapsed time.Duration) Summary {
	s := Summary{Requests: len(results), Elapsed: elapsed}
	seen := map[*Operation]bool{}
	for _, r := range results {
		seen[r.Op] = true
		for _, c := range r.Checks {
			s.Checks++
			if !c.Pass {
				s.Failed++
			}
		}
	}
	s.Operations = len(seen)
	return s
}

// WriteText prints one line per check, PASS or FAIL with the operation,
// the case and the check; under each failure the request as a curl
// command and each problem with its place (a JSON pointer into the body,
// or the header). verbose false prints only the failing checks, and one
// PASS line per operation whose checks all passed.
func WriteText(w io.Writer, base string, results []Result, verbose bool) {
	var last *Operation
	passed := map[*Operation]int{}
	failed := map[*Operation]bool{}
	for _, r := range results {
		for _, c := range r.Checks {
			if c.Pass {
				passed[r.Op]++
			} else {
				failed[r.Op] = true
			}
		}
	}
	for _, r := range results {
		if !verbose && !failed[r.Op] {
			if r.Op != last {
				fmt.Fprintf(w, "PASS %s (%d checks)\n", r.Op.Name(), passed[r.Op])
			}
			last = r.Op
			continue
		}
		last = r.Op
		for _, c := range r.Checks {
			if c.Pass {
				if verbose {
					fmt.Fprintf(w, "PASS %s [%s] %s (%d)\n", r.Op.Name(), r.Case.Name, c.Name, r.Status)
				}
				continue
			}
			fmt.Fprintf(w, "FAIL %s [%s] %s (%d)\n", r.Op.Name(), r.Case.Name, c.Name, r.Status)
			fmt.Fprintf(w, "     %s\n", r.Curl(base))
			if r.Case.Cut {
				fmt.Fprintf(w, "     %s\n", CutNote)
			}
			for _, p := range c.Problems {
				fmt.Fprintf(w, "     %s\n", problemText(p))
			}
		}
	}
}

// CutNote explains a request whose generation was cut short.
const CutNote = "note: apigw gave up generating part of this request (the schema nests without end, or its smallest value is too large): give the operation an example"

// problemText names a problem's place: the body's JSON path, a header.
func problemText(p validate.Problem) string {
	switch {
	case p.Field != "":
		return fmt.Sprintf("%s %s: %s", p.In, p.Field, p.Message)
	case p.Name != "":
		return fmt.Sprintf("%s %s: %s", p.In, p.Name, p.Message)
	}
	return fmt.Sprintf("%s: %s", p.In, p.Message)
}

// String is the last line of a report.
func (s Summary) String() string {
	verdict := "ok"
	if s.Failed > 0 {
		verdict = "FAILED"
	}
	return fmt.Sprintf("%s: %s, %s, %s, %d failed in %s", verdict, count(s.Operations, "operation"),
		count(s.Requests, "request"), count(s.Checks, "check"), s.Failed, s.Elapsed.Round(time.Millisecond))
}

func count(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Time     string      `xml:"time,attr"`
	Cases    []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitFailure `xml:"failure,omitempty"`
}

type junitFailure struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",chardata"`
}

// WriteJUnit writes the results as JUnit XML: a testsuite per operation,
// a testcase per check.
func WriteJUnit(w io.Writer, base string, results []Result, elapsed time.Duration) error {
	root := junitSuites{Name: "apigw test", Time: seconds(elapsed)}
	index := map[*Operation]int{}
	var spent []time.Duration // each suite's requests' time
	for _, r := range results {
		i, ok := index[r.Op]
		if !ok {
			i = len(root.Suites)
			index[r.Op] = i
			root.Suites = append(root.Suites, junitSuite{Name: r.Op.Name()})
			spent = append(spent, 0)
		}
		spent[i] += r.Duration
		s := &root.Suites[i]
		for _, c := range r.Checks {
			tc := junitCase{Name: fmt.Sprintf("[%s] %s", r.Case.Name, c.Name), Classname: r.Op.ID, Time: seconds(r.Duration)}
			if !c.Pass {
				lines := []string{r.Curl(base)}
				for _, p := range c.Problems {
					lines = append(lines, problemText(p))
				}
				msg := c.Name + " failed"
				if len(c.Problems) > 0 {
					msg = problemText(c.Problems[0])
				}
				tc.Failure = &junitFailure{Message: msg, Type: c.Name, Text: strings.Join(lines, "\n")}
				s.Failures++
				root.Failures++
			}
			s.Tests++
			root.Tests++
			s.Cases = append(s.Cases, tc)
		}
	}
	for i, d := range spent {
		root.Suites[i].Time = seconds(d)
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(root); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

func seconds(d time.Duration) string { return fmt.Sprintf("%.3f", d.Seconds()) }
