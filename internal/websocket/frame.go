// Package websocket is the gateway's WebSocket protocol layer (RFC 6455).
//
// It is written against the frame, not the message, because the limits the
// cloud documents are per frame (32 KB) and per message (128 KB): a library
// that only bounds messages cannot close a connection with 1009 for an
// oversized frame, and one that buffers per connection cannot meet the
// memory budget of tens of thousands of idle sockets. This file is the
// codec: reading client frames (masked, validated, reassembled into
// messages within the limits) and writing server frames.
package websocket

import (
	"bufio"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"
)

// Opcode is a frame's opcode.
type Opcode byte

// The opcodes of RFC 6455 §5.2.
const (
	OpContinuation Opcode = 0x0
	OpText         Opcode = 0x1
	OpBinary       Opcode = 0x2
	OpClose        Opcode = 0x8
	OpPing         Opcode = 0x9
	OpPong         Opcode = 0xA
)

// Close codes the gateway sends (RFC 6455 §7.4.1).
const (
	CloseNormal        = 1000
	CloseGoingAway     = 1001
	CloseProtocolError = 1002
	CloseUnsupported   = 1003
	CloseNoStatus      = 1005 // never sent: "the close frame had no code"
	CloseAbnormal      = 1006 // never sent: "the connection dropped"
	CloseInvalidData   = 1007
	ClosePolicy        = 1008
	CloseTooBig        = 1009
	CloseInternal      = 1011
)

// CloseError ends a connection: a protocol violation the reader found (to
// be answered with this code), or the peer's own close frame.
type CloseError struct {
	Code   int
	Reason string
	// Remote is true for a close frame the peer sent.
	Remote bool
}

func (e *CloseError) Error() string {
	who := "protocol"
	if e.Remote {
		who = "peer"
	}
	return fmt.Sprintf("websocket closed (%s): %d %s", who, e.Code, e.Reason)
}

// Limits bound what a client may send.
type Limits struct {
	MaxFrame   int64 // payload bytes of one frame (32 KB in the cloud)
	MaxMessage int64 // payload bytes of one reassembled message (128 KB)
}

// DefaultLimits are the cloud's (digest §7).
var DefaultLimits = Limits{MaxFrame: 32 << 10, MaxMessage: 128 << 10}

// Message is a complete data message.
type Message struct {
	Op   Opcode // OpText or OpBinary
	Data []byte
}

// Reader reads a client's frames.
type Reader struct {
	br     *bufio.Reader
	limits Limits
	// OnPing and OnPong see control frames that arrive between (or inside
	// fragmented) data messages. OnPing must answer with a pong.
	OnPing func(payload []byte) error
	OnPong func(payload []byte)
}

// NewReader reads frames from br within limits.
func NewReader(br *bufio.Reader, limits Limits) *Reader {
	return &Reader{br: br, limits: limits}
}

type header struct {
	fin    bool
	rsv    byte
	op     Opcode
	masked bool
	length int64
	mask   [4]byte
}

func (r *Reader) readHeader() (header, error) {
	var h header
	var b [8]byte
	if _, err := io.ReadFull(r.br, b[:2]); err != nil {
		return h, err
	}
	h.fin = b[0]&0x80 != 0
	h.rsv = b[0] & 0x70
	h.op = Opcode(b[0] & 0x0F)
	h.masked = b[1]&0x80 != 0
	n := int64(b[1] & 0x7F)
	switch n {
	case 126:
		if _, err := io.ReadFull(r.br, b[:2]); err != nil {
			return h, err
		}
		n = int64(binary.BigEndian.Uint16(b[:2]))
		if n < 126 {
			return h, &CloseError{Code: CloseProtocolError, Reason: "non-minimal frame length"}
		}
	case 127:
		if _, err := io.ReadFull(r.br, b[:8]); err != nil {
			return h, err
		}
		u := binary.BigEndian.Uint64(b[:8])
		if u>>63 != 0 {
			return h, &CloseError{Code: CloseProtocolError, Reason: "frame length has the top bit set"}
		}
		n = int64(u)
		if n <= 0xFFFF {
			return h, &CloseError{Code: CloseProtocolError, Reason: "non-minimal frame length"}
		}
	}
	h.length = n
	if h.masked {
		if _, err := io.ReadFull(r.br, h.mask[:]); err != nil {
			return h, err
		}
	}
	return h, nil
}

// ReadMessage returns the next data message. Control frames are handled on
// the way (ping → OnPing, pong → OnPong); a close frame or a violation ends
// with a *CloseError; an I/O error (the client vanished) is returned as is.
func (r *Reader) ReadMessage() (Message, error) {
	var msg Message
	var total int64
	inMessage := false
	for {
		h, err := r.readHeader()
		if err != nil {
			return Message{}, err
		}
		switch {
		case h.rsv != 0:
			return Message{}, &CloseError{Code: CloseProtocolError, Reason: "reserved bits set (no extension was negotiated)"}
		case !h.masked:
			return Message{}, &CloseError{Code: CloseProtocolError, Reason: "client frames must be masked"}
		}
		control := h.op&0x8 != 0
		if control {
			if !h.fin || h.length > 125 {
				return Message{}, &CloseError{Code: CloseProtocolError, Reason: "control frames must be whole and at most 125 bytes"}
			}
		} else if h.length > r.limits.MaxFrame {
			return Message{}, &CloseError{Code: CloseTooBig, Reason: fmt.Sprintf("frame of %d bytes exceeds %d", h.length, r.limits.MaxFrame)}
		}
		switch h.op {
		case OpText, OpBinary:
			if inMessage {
				return Message{}, &CloseError{Code: CloseProtocolError, Reason: "a new message began before the last one ended"}
			}
			inMessage = true
			msg.Op = h.op
		case OpContinuation:
			if !inMessage {
				return Message{}, &CloseError{Code: CloseProtocolError, Reason: "continuation without a message"}
			}
		case OpClose, OpPing, OpPong:
		default:
			return Message{}, &CloseError{Code: CloseProtocolError, Reason: fmt.Sprintf("unknown opcode %d", h.op)}
		}
		if !control && total+h.length > r.limits.MaxMessage {
			return Message{}, &CloseError{Code: CloseTooBig, Reason: fmt.Sprintf("message exceeds %d bytes", r.limits.MaxMessage)}
		}
		start := len(msg.Data)
		var payload []byte
		if control {
			payload = make([]byte, h.length)
		} else {
			msg.Data = append(msg.Data, make([]byte, h.length)...)
			payload = msg.Data[start:]
			total += h.length
		}
		if _, err := io.ReadFull(r.br, payload); err != nil {
			return Message{}, err
		}
		for i := range payload {
			payload[i] ^= h.mask[i&3]
		}
		switch h.op {
		case OpPing:
			if r.OnPing != nil {
				if err := r.OnPing(payload); err != nil {
					return Message{}, err
				}
			}
			continue
		case OpPong:
			if r.OnPong != nil {
				r.OnPong(payload)
			}
			continue
		case OpClose:
			return Message{}, parseClose(payload)
		}
		if h.fin {
			if msg.Op == OpText && !utf8.Valid(msg.Data) {
				return Message{}, &CloseError{Code: CloseInvalidData, Reason: "text message is not valid UTF-8"}
			}
			return msg, nil
		}
	}
}

// parseClose reads a close frame's payload (§5.5.1).
func parseClose(p []byte) error {
	switch {
	case len(p) == 0:
		return &CloseError{Code: CloseNoStatus, Remote: true}
	case len(p) == 1:
		return &CloseError{Code: CloseProtocolError, Reason: "close frame with a 1-byte payload"}
	}
	code := int(binary.BigEndian.Uint16(p[:2]))
	reason := p[2:]
	if !validCloseCode(code) {
		return &CloseError{Code: CloseProtocolError, Reason: fmt.Sprintf("invalid close code %d", code)}
	}
	if !utf8.Valid(reason) {
		return &CloseError{Code: CloseInvalidData, Reason: "close reason is not valid UTF-8"}
	}
	return &CloseError{Code: code, Reason: string(reason), Remote: true}
}

func validCloseCode(c int) bool {
	switch {
	case c >= 1000 && c <= 1003, c >= 1007 && c <= 1011, c >= 3000 && c <= 4999:
		return true
	}
	return false
}

// WriteFrame writes one unmasked (server) frame.
func WriteFrame(w io.Writer, fin bool, op Opcode, payload []byte) error {
	var hdr [10]byte
	hdr[0] = byte(op)
	if fin {
		hdr[0] |= 0x80
	}
	n := len(payload)
	var size int
	switch {
	case n < 126:
		hdr[1] = byte(n)
		size = 2
	case n <= 0xFFFF:
		hdr[1] = 126
		binary.BigEndian.PutUint16(hdr[2:], uint16(n))
		size = 4
	default:
		hdr[1] = 127
		binary.BigEndian.PutUint64(hdr[2:], uint64(n))
		size = 10
	}
	if _, err := w.Write(hdr[:size]); err != nil {
		return err
	}
	_, err := w.Write(payload)
	return err
}

// ClosePayload is the payload of a close frame with a code and a reason
// (cut to fit the 125-byte control frame limit on a rune boundary).
func ClosePayload(code int, reason string) []byte {
	if len(reason) > 123 {
		reason = reason[:123]
		for !utf8.ValidString(reason) {
			reason = reason[:len(reason)-1]
		}
	}
	p := make([]byte, 2+len(reason))
	binary.BigEndian.PutUint16(p, uint16(code))
	copy(p[2:], reason)
	return p
}

// AcceptKey computes Sec-WebSocket-Accept for a Sec-WebSocket-Key (§4.2.2).
func AcceptKey(key string) string {
	h := sha1.Sum([]byte(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	return base64.StdEncoding.EncodeToString(h[:])
}

// ErrHandshake is a request that is not a valid WebSocket upgrade.
var ErrHandshake = errors.New("not a valid WebSocket upgrade request")
