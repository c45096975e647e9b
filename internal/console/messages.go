package console

import (
	"time"
	"unicode/utf8"
)

// WSMessage is one WebSocket message the console saw.
type WSMessage struct {
	Seq       int64     `json:"seq"`
	Time      time.Time `json:"time"`
	Conn      string    `json:"connectionId"`
	In        bool      `json:"in"` // from the client
	Type      string    `json:"type"`
	Size      int       `json:"size"`
	Text      string    `json:"text,omitempty"`
	HexHead   string    `json:"hexHead,omitempty"`
	Truncated bool      `json:"truncated,omitempty"`
}

// Message log bounds: the most recent messages of all connections, each
// kept up to maxMessageText bytes.
const (
	maxMessages    = 1000
	maxMessageText = 4096
)

// AddMessage keeps a WebSocket message (text: a text frame).
func (r *Recorder) AddMessage(conn string, in, text bool, data []byte) {
	m := WSMessage{Time: time.Now(), Conn: conn, In: in, Type: "binary", Size: len(data)}
	if text && utf8.Valid(data) {
		m.Type = "text"
		keep := data
		if len(keep) > maxMessageText {
			keep, m.Truncated = trimPartialRune(keep[:maxMessageText]), true
		}
		m.Text = string(keep)
	} else {
		m.HexHead = hexDump(data[:min(len(data), 64)])
		m.Truncated = len(data) > 64
	}
	r.mmu.Lock()
	r.mseq++
	m.Seq = r.mseq
	r.msgs = append(r.msgs, m)
	if len(r.msgs) > maxMessages {
		r.msgs = append(r.msgs[:0:0], r.msgs[len(r.msgs)-maxMessages:]...)
	}
	r.mmu.Unlock()
}

// Messages returns the kept messages of one connection after seq.
func (r *Recorder) Messages(conn string, after int64) []WSMessage {
	r.mmu.Lock()
	defer r.mmu.Unlock()
	out := []WSMessage{}
	for _, m := range r.msgs {
		if m.Conn == conn && m.Seq > after {
			out = append(out, m)
		}
	}
	return out
}
