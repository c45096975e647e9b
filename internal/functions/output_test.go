package functions

import (
	"bytes"
	"io"
	"log/slog"
	"runtime"
	"strings"
	"testing"
	"time"
)

// A line longer than any buffer does not stop the reading: the rest of
// the line and every later line are read (to EOF), logged in pieces, and
// kept cut in the ring. A reader that stopped at its 1 MB token limit left
// the pipe full and wedged the function for good.
func TestPipeLogReadsLongLinesToTheEnd(t *testing.T) {
	pr, pw := io.Pipe()
	var logged bytes.Buffer
	var ring outputRing
	tail := &tailBuffer{}
	done := make(chan struct{})
	go func() {
		pipeLog(pr, slog.New(slog.NewTextHandler(&logged, nil)), "stdout", tail, &ring)
		close(done)
	}()
	long := strings.Repeat("e", 3<<20) // an event of 3 MB printed as one line
	go func() {
		io.WriteString(pw, "first\n"+long+"\nlast\r\nno newline at the end")
		pw.Close()
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("pipeLog did not read to the end")
	}
	lines := ring.since(0)
	if len(lines) < 4 || lines[0].Text != "first" || lines[len(lines)-2].Text != "last" || lines[len(lines)-1].Text != "no newline at the end" {
		t.Fatalf("%d lines: first %q, last %q", len(lines), lines[0].Text, lines[len(lines)-1].Text)
	}
	total := 0
	for _, l := range lines[1 : len(lines)-2] {
		if len(l.Text) > maxOutputLine {
			t.Errorf("a kept line of %d bytes", len(l.Text))
		}
		total += len(l.Text)
	}
	if n := strings.Count(logged.String(), "function output"); n != len(lines) {
		t.Errorf("%d log lines for %d kept", n, len(lines))
	}
	if strings.Count(logged.String(), "e") < 3<<20 {
		t.Errorf("the log lost part of the long line (%d bytes)", logged.Len())
	}
	if s := tail.String(); len(s) > 8*600 {
		t.Errorf("the stderr tail holds %d bytes", len(s))
	}
}

// The ring keeps its lines by value, cut: a line cut by slicing kept its
// whole megabyte alive (500 lines: half a gigabyte per process).
func TestOutputRingHoldsOnlyWhatItShows(t *testing.T) {
	var ring outputRing
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i := range 2 * maxOutputLines {
		ring.add("stdout", strings.Repeat(string(rune('a'+i%26)), 1<<20))
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	if grew := int64(after.HeapAlloc) - int64(before.HeapAlloc); grew > 16<<20 {
		t.Errorf("the ring of %d lines holds %d MB", maxOutputLines, grew>>20)
	}
	lines := ring.since(0)
	if len(lines) != maxOutputLines || lines[0].Seq != maxOutputLines+1 || lines[len(lines)-1].Seq != 2*maxOutputLines {
		t.Errorf("kept %d lines, %d to %d", len(lines), lines[0].Seq, lines[len(lines)-1].Seq)
	}
	if got := ring.since(2*maxOutputLines - 2); len(got) != 2 {
		t.Errorf("since the last two: %d lines", len(got))
	}
	runtime.KeepAlive(&ring)
}
