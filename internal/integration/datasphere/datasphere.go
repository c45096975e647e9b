// Package datasphere is the cloud_datasphere integration (digest §3.6): the
// request body, a JSON object of the node's input variables, goes to the
// node bound to node_id; its answer, a JSON object of output variables,
// comes back.
package datasphere

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/apigw/apigw/internal/httperr"
	"github.com/apigw/apigw/internal/integration"
	"github.com/apigw/apigw/internal/yamlx"
	"go.yaml.in/yaml/v3"
)

type settings struct {
	Type             string `yaml:"type"`
	FolderID         string `yaml:"folder_id"`
	NodeID           string `yaml:"node_id"`
	ServiceAccountID string `yaml:"service_account_id"`
}

// Integration is a compiled cloud_datasphere integration.
type Integration struct {
	nodeID    string
	url       string
	client    *http.Client
	maxAnswer int64
	account   *integration.Account // the node is called as this account
}

var _ integration.Handler = (*Integration)(nil)

// New decodes a cloud_datasphere integration and resolves its binding.
func New(b *integration.Build, n *yaml.Node, path string) (integration.Handler, yamlx.List) {
	var s settings
	errs := yamlx.DecodeExtension(n, &s, path)
	if errs.Err() != nil {
		return nil, errs
	}
	if s.FolderID == "" {
		errs.Errorf(n, path, "cloud_datasphere integration needs folder_id")
	}
	if s.NodeID == "" {
		errs.Errorf(n, path, "cloud_datasphere integration needs node_id")
		return nil, errs
	}
	e := b.Bindings.DataSphere[s.NodeID]
	if e == nil {
		if h := b.Unbound("datasphere", s.NodeID, ""); h != nil {
			return h, errs
		}
	}
	if e == nil {
		errs.Errorf(yamlx.Get(n, "node_id"), yamlx.Join(path, "node_id"), "DataSphere node %s is not bound: add datasphere.%s.url to the bindings file", s.NodeID, s.NodeID)
	}
	acct, ae := b.ServiceAccount(s.ServiceAccountID, n, path, true)
	errs.Add(ae...)
	if len(errs.Errors()) > 0 {
		return nil, errs
	}
	return &Integration{
		nodeID:    s.NodeID,
		url:       e.URL,
		client:    &http.Client{Transport: b.Deps.Transport(10 * time.Second)},
		maxAnswer: int64(b.Bindings.Limits.MaxResponseBody),
		account:   acct,
	}, errs
}

// Serve sends the input variables to the node and answers its outputs.
func (it *Integration) Serve(w http.ResponseWriter, r *http.Request, c *integration.Call) error {
	in, err := integration.ReadBody(r)
	if err != nil {
		return err
	}
	if !isObject(in) {
		return httperr.New(http.StatusBadRequest, "the request body must be a JSON object of the node's input variables")
	}
	req, err := http.NewRequestWithContext(r.Context(), http.MethodPost, it.url, bytes.NewReader(in))
	if err != nil {
		return httperr.Wrap(http.StatusInternalServerError, "bad DataSphere node URL", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Request-Id", c.RequestID)
	if it.account != nil {
		if err := it.account.SetBearer(r.Context(), req.Header, c.Deadline); err != nil {
			return err
		}
	}
	res, err := it.client.Do(req)
	if err != nil {
		if errors.Is(r.Context().Err(), context.DeadlineExceeded) {
			return httperr.Wrap(http.StatusGatewayTimeout, "DataSphere node did not answer in time", err)
		}
		return httperr.Wrap(http.StatusBadGateway, "DataSphere node "+it.nodeID+" is unreachable", err)
	}
	defer res.Body.Close()
	out, err := io.ReadAll(io.LimitReader(res.Body, it.maxAnswer+1))
	if err != nil {
		return httperr.Wrap(http.StatusBadGateway, "DataSphere node answer broke off", err)
	}
	if int64(len(out)) > it.maxAnswer {
		return httperr.New(http.StatusBadGateway, fmt.Sprintf("DataSphere node answer is larger than %d bytes", it.maxAnswer))
	}
	if !isObject(out) {
		return httperr.New(http.StatusBadGateway, fmt.Sprintf("DataSphere node answered %d without a JSON object", res.StatusCode))
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(out)))
	w.WriteHeader(res.StatusCode)
	w.Write(out)
	return nil
}

func isObject(b []byte) bool {
	var m map[string]json.RawMessage
	return json.Unmarshal(b, &m) == nil && m != nil
}
