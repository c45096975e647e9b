// Package httperr is the one shape of every response the gateway generates
// itself (404, 413, 502, 504, ...): a status, a message that is safe to show,
// and an internal cause that goes to the log only.
package httperr

import (
	"encoding/json"
	"net/http"
)

// Error is a gateway-generated failure. Message reaches the client; Err
// reaches the log, never the client.
type Error struct {
	Status  int
	Message string
	Err     error
	// Details, when set, go to the client as the body's "errors" (a
	// validation failure's list of problems).
	Details any
}

func (e *Error) Error() string {
	if e.Err != nil {
		return e.Message + ": " + e.Err.Error()
	}
	return e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// New returns an Error with a status and a client-safe message.
func New(status int, message string) *Error {
	return &Error{Status: status, Message: message}
}

// Wrap returns an Error that keeps err as its (log-only) cause.
func Wrap(status int, message string, err error) *Error {
	return &Error{Status: status, Message: message, Err: err}
}

// Body is the uniform JSON body of gateway-generated responses.
type Body struct {
	Message   string `json:"message"`
	Status    int    `json:"status"`
	RequestID string `json:"request_id,omitempty"`
	Errors    any    `json:"errors,omitempty"`
}

// Write sends the uniform JSON error response. The X-Request-Id header is
// expected to be set already by the gateway.
func Write(w http.ResponseWriter, status int, message string) {
	WriteDetails(w, status, message, nil)
}

// WriteDetails is Write with a list of details ("errors" in the body).
func WriteDetails(w http.ResponseWriter, status int, message string, details any) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Del("Content-Length")
	w.WriteHeader(status)
	b, _ := json.Marshal(Body{Message: message, Status: status, RequestID: h.Get("X-Request-Id"), Errors: details})
	w.Write(append(b, '\n'))
}
