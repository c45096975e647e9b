package integration

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/apigw/apigw/internal/httperr"
	"github.com/apigw/apigw/internal/yamlx"
	"github.com/apigw/apigw/internal/yc"
	"go.yaml.in/yaml/v3"
)

// Account is a service account the spec names, bound to its key
// (service_accounts: in the bindings): what an integration or authorizer
// calls another service as, with an IAM token.
type Account struct {
	ID     string
	tokens *yc.TokenSource
}

// Tokens is the account's token source.
func (a *Account) Tokens() *yc.TokenSource { return a.tokens }

// Token returns a valid IAM token of the account, or the gateway's answer
// when there is none: a 502 that says whether the IAM endpoint refused the
// key or could not be reached (504 when the request's time, ctx and
// deadline, ran out first). The error a caller logs never holds the token
// or the key.
func (a *Account) Token(ctx context.Context, deadline time.Time) (string, error) {
	if tok, ok := a.tokens.Cached(); ok {
		return tok, nil
	}
	if !deadline.IsZero() {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, deadline)
		defer cancel()
	}
	tok, err := a.tokens.Token(ctx)
	switch {
	case err == nil:
		return tok, nil
	case errors.Is(err, yc.ErrRefused):
		return "", httperr.Wrap(http.StatusBadGateway, "service account "+a.ID+": the IAM endpoint refused its key", err)
	case errors.Is(err, context.DeadlineExceeded) && ctx.Err() != nil:
		return "", httperr.Wrap(http.StatusGatewayTimeout, "execution timeout expired while getting an IAM token for service account "+a.ID, err)
	}
	return "", httperr.Wrap(http.StatusBadGateway, "service account "+a.ID+": no IAM token (the IAM endpoint could not be reached)", err)
}

// SetBearer puts the account's IAM token in h as the Authorization, in
// place of any other (the client's own never reaches a target called as
// an account); the error is Token's.
func (a *Account) SetBearer(ctx context.Context, h http.Header, deadline time.Time) error {
	tok, err := a.Token(ctx, deadline)
	if err != nil {
		return err
	}
	h["Authorization"] = []string{"Bearer " + tok}
	return nil
}

// accountKeys are the spellings of the key that names a service account.
var accountKeys = []string{"service_account_id", "serviceAccountId", "service_account"}

// ServiceAccount resolves the service account an integration or authorizer
// calls as: own (its service_account_id, n and path being its node and
// spec path), else, when inherit, the spec's x-yc-apigateway one. It is
// nil when none is named, or when the account is not bound, which warns
// (calls then go out without a token, as before the binding exists). A key
// that cannot be read is an error.
func (b *Build) ServiceAccount(own string, n *yaml.Node, path string, inherit bool) (*Account, yamlx.List) {
	var errs yamlx.List
	id := own
	at, atPath := keyNode(n, path)
	if id == "" && inherit && b.Doc != nil {
		id = b.Doc.Gateway.ServiceAccountID
		at, atPath = keyNode(yamlx.Get(b.Doc.Root, "x-yc-apigateway"), "x-yc-apigateway")
	}
	if id == "" || b.Bindings.SpecOnly {
		return nil, nil
	}
	sa := b.Bindings.ServiceAccounts[id]
	if sa == nil {
		errs.Warnf(at, atPath, "service account %s is not bound: calls go out without an IAM token (bind its key under service_accounts.%s in the bindings file)", id, id)
		return nil, errs
	}
	tokens, err := b.Deps.Tokens.Source(sa.ServiceAccountKeyFile, sa.ServiceAccountKeyEnv, sa.IAMEndpoint)
	if err != nil {
		errs.Errorf(at, atPath, "service account %s (service_accounts.%s): %v", id, id, err)
		return nil, errs
	}
	return &Account{ID: id, tokens: tokens}, nil
}

// keyNode finds the service account key of mapping n, for positions.
func keyNode(n *yaml.Node, path string) (*yaml.Node, string) {
	for _, k := range accountKeys {
		if v := yamlx.Get(n, k); v != nil {
			return v, yamlx.Join(path, k)
		}
	}
	return n, path
}

// AccountTokens is ServiceAccount (inherited) for what calls as an account
// only in some bindings: when needed is false the account is not looked
// up, and not bound is no warning. It returns the account's tokens, or nil.
func (b *Build) AccountTokens(needed bool, own string, n *yaml.Node, path string) (*yc.TokenSource, yamlx.List) {
	if !needed {
		return nil, nil
	}
	acct, errs := b.ServiceAccount(own, n, path, true)
	if acct == nil {
		return nil, errs
	}
	return acct.tokens, errs
}

// BoundAccount is the tokens of the service account an AWS-compatible
// integration names (own, else the spec's top-level one) when that account
// is bound, else nil. Those bindings carry credentials of their own (or
// reach a local server that needs none), so an account that is not bound
// is no warning there. A bound key that cannot be read is an error.
func (b *Build) BoundAccount(own string) (*yc.TokenSource, error) {
	id := own
	if id == "" && b.Doc != nil {
		id = b.Doc.Gateway.ServiceAccountID
	}
	sa := b.Bindings.ServiceAccounts[id]
	if id == "" || sa == nil {
		return nil, nil
	}
	tokens, err := b.Deps.Tokens.Source(sa.ServiceAccountKeyFile, sa.ServiceAccountKeyEnv, sa.IAMEndpoint)
	if err != nil {
		return nil, fmt.Errorf("service account %s (service_accounts.%s): %w", id, id, err)
	}
	return tokens, nil
}
