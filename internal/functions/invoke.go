package functions

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"
)

// Invocation is one call of a function.
type Invocation struct {
	FunctionID string
	Tag        string
	RequestID  string
	Deadline   time.Time // zero: none
	Event      []byte
}

// Invoker carries an event to a function and brings back its answer (the
// response JSON, unparsed).
type Invoker interface {
	Invoke(ctx context.Context, inv *Invocation) ([]byte, error)
}

// FunctionError is an error raised by the function's own code (an uncaught
// exception): the cloud answers 502 with its JSON and X-Function-Error: true.
type FunctionError struct {
	Body []byte // {"errorMessage", "errorType", "stackTrace"}
}

func (e *FunctionError) Error() string {
	var m struct {
		ErrorMessage string `json:"errorMessage"`
		ErrorType    string `json:"errorType"`
	}
	json.Unmarshal(e.Body, &m)
	return fmt.Sprintf("function raised %s: %s", m.ErrorType, m.ErrorMessage)
}

// StatusError is a status the function's endpoint answered instead of a
// result (429, 403, 404, 503, 504 ...): the gateway passes it through.
type StatusError struct {
	Status int
	Body   []byte
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("function endpoint answered %d: %.200s", e.Status, e.Body)
}

// TooLarge is an answer beyond the response limit.
type TooLarge struct{ Limit int64 }

func (e *TooLarge) Error() string {
	return fmt.Sprintf("function response is larger than %d bytes", e.Limit)
}

// Headers an invoker sends with the event, for a runtime adapter to build
// the handler's context from.
const (
	HeaderFunctionID = "X-Apigw-Function-Id"
	HeaderVersion    = "X-Apigw-Function-Version"
	HeaderMemory     = "X-Apigw-Memory-Limit-Mb"
	HeaderDeadline   = "X-Apigw-Deadline-Ms" // Unix milliseconds
	HeaderToken      = "X-Apigw-Token"
)

// URLInvoker POSTs the event to an invoke URL, as the cloud's invoke
// endpoint is called: 200 carries the function's answer; a JSON error body
// with errorMessage is the function's own error; other statuses pass
// through.
type URLInvoker struct {
	URL       string
	Client    *http.Client
	MaxAnswer int64             // the response limit (2.5 MB)
	Header    map[string]string // sent with every invocation
}

// Invoke implements Invoker.
func (u *URLInvoker) Invoke(ctx context.Context, inv *Invocation) ([]byte, error) {
	return u.post(ctx, u.URL, inv, "")
}

// post sends the event to url (with a bearer token when one is given).
func (u *URLInvoker) post(ctx context.Context, url string, inv *Invocation, bearer string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(inv.Event))
	if err != nil {
		return nil, err
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Request-Id", inv.RequestID)
	req.Header.Set(HeaderFunctionID, inv.FunctionID)
	if !inv.Deadline.IsZero() {
		req.Header.Set(HeaderDeadline, itoa(inv.Deadline.UnixMilli()))
	}
	for k, v := range u.Header {
		req.Header.Set(k, v)
	}
	res, err := u.Client.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, u.MaxAnswer+1))
	if err != nil {
		return nil, fmt.Errorf("reading the function's answer: %w", err)
	}
	if int64(len(body)) > u.MaxAnswer {
		return nil, &TooLarge{Limit: u.MaxAnswer}
	}
	if res.StatusCode == http.StatusOK {
		return body, nil
	}
	if res.StatusCode >= 500 && res.Header.Get("X-Function-Error") != "" || isErrorObject(body) && res.StatusCode >= 500 {
		return nil, &FunctionError{Body: body}
	}
	return nil, &StatusError{Status: res.StatusCode, Body: body}
}

func isErrorObject(b []byte) bool {
	var m map[string]json.RawMessage
	if json.Unmarshal(b, &m) != nil {
		return false
	}
	_, ok := m["errorMessage"]
	return ok
}

// ErrNoBinding is returned for a function (or tag) bound nowhere.
var ErrNoBinding = errors.New("function is not bound")
