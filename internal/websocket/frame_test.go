package websocket

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"strings"
	"testing"
)

// clientFrame builds a masked frame as a browser sends it.
func clientFrame(fin bool, op Opcode, payload []byte) []byte {
	var b bytes.Buffer
	first := byte(op)
	if fin {
		first |= 0x80
	}
	b.WriteByte(first)
	n := len(payload)
	switch {
	case n < 126:
		b.WriteByte(0x80 | byte(n))
	case n <= 0xFFFF:
		b.WriteByte(0x80 | 126)
		binary.Write(&b, binary.BigEndian, uint16(n))
	default:
		b.WriteByte(0x80 | 127)
		binary.Write(&b, binary.BigEndian, uint64(n))
	}
	mask := [4]byte{0x37, 0xfa, 0x21, 0x3d}
	b.Write(mask[:])
	for i, c := range payload {
		b.WriteByte(c ^ mask[i&3])
	}
	return b.Bytes()
}

func frames(fs ...[]byte) *bufio.Reader { return bufio.NewReader(bytes.NewReader(bytes.Join(fs, nil))) }

func TestReadMessage(t *testing.T) {
	small := Limits{MaxFrame: 16, MaxMessage: 32}
	unmasked := append([]byte{0x81, 0x02}, "hi"...)
	tests := []struct {
		desc   string
		in     *bufio.Reader
		limits Limits
		want   string // the message, for success
		op     Opcode
		code   int // the close code, for a CloseError
		remote bool
		pings  int
	}{
		{"text", frames(clientFrame(true, OpText, []byte("hello"))), DefaultLimits, "hello", OpText, 0, false, 0},
		{"binary", frames(clientFrame(true, OpBinary, []byte{0, 1, 2})), DefaultLimits, "\x00\x01\x02", OpBinary, 0, false, 0},
		{"fragmented with a ping inside", frames(clientFrame(false, OpText, []byte("he")), clientFrame(true, OpPing, []byte("p")),
			clientFrame(false, OpContinuation, []byte("ll")), clientFrame(true, OpContinuation, []byte("o"))), DefaultLimits, "hello", OpText, 0, false, 1},
		{"16-bit length", frames(clientFrame(true, OpBinary, bytes.Repeat([]byte{7}, 300))), DefaultLimits, strings.Repeat("\x07", 300), OpBinary, 0, false, 0},
		{"frame over the limit: 1009", frames(clientFrame(true, OpBinary, make([]byte, 17))), small, "", 0, CloseTooBig, false, 0},
		{"message over the limit by fragments: 1009", frames(clientFrame(false, OpBinary, make([]byte, 16)), clientFrame(false, OpContinuation, make([]byte, 16)),
			clientFrame(true, OpContinuation, make([]byte, 1))), small, "", 0, CloseTooBig, false, 0},
		{"unmasked: 1002", frames(unmasked), DefaultLimits, "", 0, CloseProtocolError, false, 0},
		{"reserved bits: 1002", frames(func() []byte { f := clientFrame(true, OpText, []byte("x")); f[0] |= 0x40; return f }()), DefaultLimits, "", 0, CloseProtocolError, false, 0},
		{"fragmented control: 1002", frames(clientFrame(false, OpPing, nil)), DefaultLimits, "", 0, CloseProtocolError, false, 0},
		{"control over 125 bytes: 1002", frames(clientFrame(true, OpPing, make([]byte, 126))), DefaultLimits, "", 0, CloseProtocolError, false, 0},
		{"continuation first: 1002", frames(clientFrame(true, OpContinuation, []byte("x"))), DefaultLimits, "", 0, CloseProtocolError, false, 0},
		{"new message inside a fragmented one: 1002", frames(clientFrame(false, OpText, []byte("a")), clientFrame(true, OpText, []byte("b"))), DefaultLimits, "", 0, CloseProtocolError, false, 0},
		{"unknown opcode: 1002", frames(clientFrame(true, 3, []byte("x"))), DefaultLimits, "", 0, CloseProtocolError, false, 0},
		{"invalid UTF-8 text: 1007", frames(clientFrame(true, OpText, []byte{0xff, 0xfe})), DefaultLimits, "", 0, CloseInvalidData, false, 0},
		{"UTF-8 split across fragments is fine", frames(clientFrame(false, OpText, []byte("п")[:1]), clientFrame(true, OpContinuation, []byte("п")[1:])), DefaultLimits, "п", OpText, 0, false, 0},
		{"peer close with code and reason", frames(clientFrame(true, OpClose, append([]byte{0x03, 0xe8}, "bye"...))), DefaultLimits, "", 0, 1000, true, 0},
		{"peer close without a code", frames(clientFrame(true, OpClose, nil)), DefaultLimits, "", 0, CloseNoStatus, true, 0},
		{"close with one byte: 1002", frames(clientFrame(true, OpClose, []byte{3})), DefaultLimits, "", 0, CloseProtocolError, false, 0},
		{"close with a reserved code: 1002", frames(clientFrame(true, OpClose, []byte{0x03, 0xed})), DefaultLimits, "", 0, CloseProtocolError, false, 0},
		{"non-minimal length: 1002", frames([]byte{0x82, 0x80 | 126, 0, 5, 1, 2, 3, 4, 0, 0, 0, 0, 0}), DefaultLimits, "", 0, CloseProtocolError, false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			r := NewReader(tt.in, tt.limits)
			pings := 0
			r.OnPing = func([]byte) error { pings++; return nil }
			msg, err := r.ReadMessage()
			if tt.code != 0 {
				var ce *CloseError
				if !errors.As(err, &ce) || ce.Code != tt.code || ce.Remote != tt.remote {
					t.Fatalf("got %v, %v; want close %d (remote %v)", msg, err, tt.code, tt.remote)
				}
				return
			}
			if err != nil || string(msg.Data) != tt.want || msg.Op != tt.op || pings != tt.pings {
				t.Fatalf("got %q op %d (%v), %d pings; want %q op %d, %d pings", msg.Data, msg.Op, err, pings, tt.want, tt.op, tt.pings)
			}
		})
	}
	// A client that vanishes mid-frame is an I/O error, not a close.
	cut := clientFrame(true, OpText, []byte("hello"))
	if _, err := NewReader(frames(cut[:len(cut)-2]), DefaultLimits).ReadMessage(); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("truncated frame: %v", err)
	}
}

func TestWriteFrameAndHelpers(t *testing.T) {
	for _, n := range []int{0, 125, 126, 65535, 65536} {
		var b bytes.Buffer
		payload := bytes.Repeat([]byte{'x'}, n)
		WriteFrame(&b, true, OpBinary, payload)
		// Read it back as a client would (server frames are unmasked).
		hdr := b.Bytes()
		if hdr[0] != 0x82 || hdr[1]&0x80 != 0 {
			t.Fatalf("n=%d: header %x", n, hdr[:2])
		}
		if b.Len()-n != map[bool]int{true: 2, false: 0}[n < 126]+map[bool]int{true: 4, false: 0}[n >= 126 && n <= 65535]+map[bool]int{true: 10, false: 0}[n > 65535] {
			t.Errorf("n=%d: frame of %d bytes", n, b.Len())
		}
	}
	if got := AcceptKey("dGhlIHNhbXBsZSBub25jZQ=="); got != "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" {
		t.Errorf("AcceptKey = %s (RFC 6455 §1.3 example)", got)
	}
	p := ClosePayload(1009, strings.Repeat("я", 100))
	if len(p) > 125 || binary.BigEndian.Uint16(p) != 1009 {
		t.Errorf("close payload of %d bytes", len(p))
	}
	if err := parseClose(p); err.(*CloseError).Code != 1009 {
		t.Errorf("a cut reason must stay valid UTF-8: %v", err)
	}
}

// FuzzReader: arbitrary bytes never panic the reader; and any message,
// fragmented at arbitrary sizes within the frame limit, reassembles exactly.
func FuzzReader(f *testing.F) {
	f.Add([]byte("hello world"), uint8(3), []byte{0x81, 0x85})
	f.Add(bytes.Repeat([]byte{0xff}, 200), uint8(60), []byte{})
	f.Fuzz(func(t *testing.T, data []byte, chunk uint8, raw []byte) {
		NewReader(bufio.NewReader(bytes.NewReader(raw)), Limits{MaxFrame: 64, MaxMessage: 256}).ReadMessage()

		if len(data) > 256 {
			data = data[:256]
		}
		size := int(chunk%64) + 1
		var parts [][]byte
		for i := 0; i < len(data) || i == 0; i += size {
			end := min(i+size, len(data))
			op := OpContinuation
			if i == 0 {
				op = OpBinary
			}
			parts = append(parts, clientFrame(end == len(data), op, data[i:end]))
			if end == len(data) {
				break
			}
		}
		msg, err := NewReader(frames(parts...), Limits{MaxFrame: 64, MaxMessage: 256}).ReadMessage()
		if err != nil || !bytes.Equal(msg.Data, data) {
			t.Fatalf("reassembled %x (%v), want %x", msg.Data, err, data)
		}
	})
}
