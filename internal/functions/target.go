package functions

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/apigw/apigw/internal/config"
	"github.com/apigw/apigw/internal/yc"
)

// Target is a function_id resolved against the bindings: the invoker of
// each tag the bindings name for it, and the one for every other tag.
type Target struct {
	ID       string
	Timeout  time.Duration // the binding's own bound, 0: none
	invokers map[string]Invoker
	fallback Invoker
}

// Target resolves a function ID. With a static tag only that tag's binding
// is resolved; with a tag taken from the request (dynamic), every
// "<id>:<tag>" binding and the function's (or the default) binding are.
// A function bound nowhere is an error, unless the bindings are SpecOnly.
//
// account is the service account the spec invokes the function as: a
// yandex binding without a key of its own uses its tokens.
func (p *Pool) Target(b *config.Bindings, id, tag string, dynamic bool, maxAnswer int64, account *yc.TokenSource) (*Target, error) {
	t := &Target{ID: id, invokers: map[string]Invoker{}}
	bind := func(f *config.Function) (Invoker, error) {
		inv, err := p.Invoker(id, f, maxAnswer, account, *b.WebSocket.InterceptCloudAPI)
		if err != nil {
			return nil, fmt.Errorf("function %s: %v", id, err)
		}
		if f.Timeout != nil {
			t.Timeout = f.Timeout.D()
		}
		return inv, nil
	}
	var err error
	if !dynamic {
		if f := b.Function(id, tag); f != nil {
			t.fallback, err = bind(f)
		} else if !b.SpecOnly {
			return nil, fmt.Errorf("function %s (tag %s) is not bound: add functions.%s (url, command, runtime, yandex, or mock: true) to the bindings file, or a functions.default, or serve with --mock", id, tag, id)
		}
		return t, err
	}
	prefix := id + ":"
	for key, f := range b.Functions {
		if tg, ok := strings.CutPrefix(key, prefix); ok {
			if t.invokers[tg], err = bind(f); err != nil {
				return nil, err
			}
		}
	}
	f := b.Functions[id]
	if f == nil {
		f = b.Functions["default"]
	}
	if f != nil {
		if t.fallback, err = bind(f); err != nil {
			return nil, err
		}
	}
	if len(t.invokers) == 0 && t.fallback == nil && !b.SpecOnly {
		return nil, fmt.Errorf("function %s is not bound: add functions.%s (url, command, runtime, yandex, or mock: true) to the bindings file, or a functions.default, or serve with --mock", id, id)
	}
	return t, nil
}

// For returns the invoker of a tag, nil when the tag is bound nowhere.
func (t *Target) For(tag string) Invoker {
	if inv := t.invokers[tag]; inv != nil {
		return inv
	}
	return t.fallback
}

// Invoke calls the function for a tag within the binding's own timeout (if
// any) and the context's deadline, which the invocation carries for the
// handler's context. A timeout surfaces as an error that
// errors.Is(err, context.DeadlineExceeded).
func (t *Target) Invoke(ctx context.Context, tag, requestID string, event []byte) ([]byte, error) {
	inv := t.For(tag)
	if inv == nil {
		return nil, fmt.Errorf("function %s has no binding for tag %q: %w", t.ID, tag, ErrNoBinding)
	}
	if t.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, t.Timeout)
		defer cancel()
	}
	deadline, _ := ctx.Deadline()
	out, err := inv.Invoke(ctx, &Invocation{FunctionID: t.ID, Tag: tag, RequestID: requestID, Deadline: deadline, Event: event})
	if err != nil && ctx.Err() != nil && !errors.Is(err, ctx.Err()) {
		err = fmt.Errorf("%w: %v", ctx.Err(), err)
	}
	return out, err
}

// Describe says where the target's default binding runs: a local process
// (its command and dir), a URL, or Yandex Cloud.
func (t *Target) Describe() string {
	switch inv := t.fallback.(type) {
	case *Process:
		s := strings.Join(inv.Command, " ")
		if h := inv.handler(); h != "" {
			s = "handler " + h + " (" + filepath.Base(inv.Command[0]) + ")"
		}
		return s + " in " + inv.Dir
	case *URLInvoker:
		return inv.URL
	case *YandexInvoker:
		return "Yandex Cloud Functions"
	case nil:
		if len(t.invokers) > 0 {
			return "bound per tag"
		}
		return "not bound"
	}
	return "bound"
}
