package yc

import (
	"fmt"
	"net/http"
	"os"
	"sync"
)

// Tokens shares one TokenSource per service account key, so that every
// binding with the same key (functions, buckets, queues, streams, tables),
// across reloads, shares one cached IAM token.
type Tokens struct {
	client *http.Client

	mu      sync.Mutex
	sources map[string]*TokenSource // by key file/env, key ID and IAM endpoint
}

// NewTokens returns an empty cache whose exchanges go through client.
func NewTokens(client *http.Client) *Tokens {
	return &Tokens{client: client, sources: map[string]*TokenSource{}}
}

// Source returns the token source of the key in file, or in the
// environment variable env (exactly one is set), exchanged at iamEndpoint
// (DefaultIAMEndpoint when empty). The key is read now, so a missing or
// broken key is a build error, not a failed request.
func (t *Tokens) Source(file, env, iamEndpoint string) (*TokenSource, error) {
	var key *Key
	var err error
	id := iamEndpoint + "\x00"
	if file != "" {
		key, err = LoadKey(file)
		id += "file:" + file
	} else {
		raw := os.Getenv(env)
		if raw == "" {
			return nil, fmt.Errorf("environment variable %s (service_account_key_env) is empty", env)
		}
		key, err = ParseKey([]byte(raw))
		id += "env:" + env
	}
	if err != nil {
		return nil, fmt.Errorf("service account key: %w", err)
	}
	id += "\x00" + key.ID
	t.mu.Lock()
	defer t.mu.Unlock()
	if ts, ok := t.sources[id]; ok {
		return ts, nil
	}
	ts := &TokenSource{Key: key, Endpoint: iamEndpoint, Client: t.client}
	t.sources[id] = ts
	return ts, nil
}
