// Package ydb is the cloud_ydb integration (digest §3.9): PutItem,
// GetItem, UpdateItem, DeleteItem and Scan on a DynamoDB-compatible table
// (YDB's Document API), plain JSON in and out.
package ydb

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"

	"github.com/apigw/apigw/internal/awsconf"
	"github.com/apigw/apigw/internal/config"
	"github.com/apigw/apigw/internal/httperr"
	"github.com/apigw/apigw/internal/integration"
	"github.com/apigw/apigw/internal/params"
	"github.com/apigw/apigw/internal/yamlx"
	"go.yaml.in/yaml/v3"
)

type settings struct {
	Type                      string `yaml:"type"`
	Action                    string `yaml:"action"`
	Database                  string `yaml:"database"`
	ServiceAccountID          string `yaml:"service_account_id"`
	TableName                 string `yaml:"table_name"`
	Key                       string `yaml:"key"`
	UpdateExpression          string `yaml:"update_expression"`
	ExpressionAttributeValues string `yaml:"expression_attribute_values"`
	Limit                     string `yaml:"limit"`
	ExclusiveStartKey         string `yaml:"exclusive_start_key"`
}

// Integration is a compiled cloud_ydb integration.
type Integration struct {
	client   *dynamodb.Client
	action   string
	table    params.Template
	key      *params.Value // JSON templates, parsed at build time
	update   *params.Template
	values   *params.Value
	limit    *params.Template
	startKey *params.Value
}

var _ integration.Handler = (*Integration)(nil)

var actions = map[string]bool{"PutItem": true, "GetItem": true, "UpdateItem": true, "DeleteItem": true, "Scan": true}

// jsonTemplate compiles a JSON string field with {param} placeholders. It
// must be valid JSON as written, so placeholders sit inside JSON strings:
// a substituted value is then always one string and can never add keys or
// break out of its place.
func jsonTemplate(n *yaml.Node, field, src, path string, d *params.Declared, errs *yamlx.List) *params.Value {
	if src == "" {
		return nil
	}
	at := yamlx.Get(n, field)
	if !json.Valid([]byte(src)) {
		errs.Errorf(at, yamlx.Join(path, field), "must be JSON with each {param} inside a JSON string, such as '{\"id\": \"{id}\"}'")
		return nil
	}
	var node yaml.Node
	if err := yaml.Unmarshal([]byte(src), &node); err != nil {
		errs.Errorf(at, yamlx.Join(path, field), "%v", err)
		return nil
	}
	v, e := params.CompileValue(&node, yamlx.Join(path, field), d)
	errs.Add(e...)
	return v
}

// New decodes a cloud_ydb integration and resolves its database.
func New(b *integration.Build, n *yaml.Node, p string) (integration.Handler, yamlx.List) {
	var s settings
	errs := yamlx.DecodeExtension(n, &s, p)
	if errs.Err() != nil {
		return nil, errs
	}
	if !actions[s.Action] {
		errs.Errorf(yamlx.Get(n, "action"), yamlx.Join(p, "action"), "action must be PutItem, GetItem, UpdateItem, DeleteItem or Scan, not %q", s.Action)
	}
	if s.Database == "" || s.TableName == "" {
		errs.Errorf(n, p, "cloud_ydb integration needs database and table_name")
	}
	if (s.Action == "GetItem" || s.Action == "UpdateItem" || s.Action == "DeleteItem") && s.Key == "" {
		errs.Errorf(n, p, "%s needs key (a JSON object of the primary key attributes)", s.Action)
	}
	it := &Integration{action: s.Action, table: params.Compile(s.TableName, b.Declared)}
	it.key = jsonTemplate(n, "key", s.Key, p, b.Declared, &errs)
	it.values = jsonTemplate(n, "expression_attribute_values", s.ExpressionAttributeValues, p, b.Declared, &errs)
	it.startKey = jsonTemplate(n, "exclusive_start_key", s.ExclusiveStartKey, p, b.Declared, &errs)
	if s.UpdateExpression != "" {
		t := params.Compile(s.UpdateExpression, b.Declared)
		it.update = &t
	}
	if s.Limit != "" {
		t := params.Compile(s.Limit, b.Declared)
		it.limit = &t
	}
	if len(errs.Errors()) > 0 {
		return nil, errs
	}
	y := b.Bindings.YDB[s.Database]
	if y == nil {
		y = b.Bindings.YDB["default"]
	}
	if y == nil && b.Bindings.MockTarget("ydb", s.Database, "") {
		return b.Unbound("ydb", s.Database, ""), errs
	}
	if y == nil && !b.Bindings.SpecOnly {
		errs.Errorf(yamlx.Get(n, "database"), yamlx.Join(p, "database"), "database %s is not bound: add it (or default) under ydb: in the bindings file, with the endpoint and keys", s.Database)
		return nil, errs
	}
	if y == nil {
		y = &config.YDB{Region: "ru-central1"}
	}
	endpoint := y.Endpoint
	if endpoint == "" {
		endpoint = config.DefaultYDBEndpoint(s.Database)
	}
	account, err := b.BoundAccount(s.ServiceAccountID)
	if err != nil {
		errs.Errorf(yamlx.Get(n, "database"), yamlx.Join(p, "database"), "%v", err)
		return nil, errs
	}
	cfg, u, err := awsconf.Config(y.Region, endpoint, y.Credentials, b.Deps.Tokens, account, b.Deps.Transport(10*time.Second))
	if err != nil {
		errs.Errorf(yamlx.Get(n, "database"), yamlx.Join(p, "database"), "database %s: %v", s.Database, err)
		return nil, errs
	}
	it.client = dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) {
		o.BaseEndpoint, o.EndpointResolverV2 = aws.String(endpoint), awsconf.Endpoint[dynamodb.EndpointParameters]{URL: u}
	})
	return it, errs
}

// item expands a JSON template and converts it to an item.
func item(v *params.Value, r *params.Request) (map[string]types.AttributeValue, error) {
	obj, ok := v.Expand(r).(map[string]any)
	if !ok {
		return nil, errors.New("must be a JSON object")
	}
	return toItem(normalize(obj))
}

// normalize turns the YAML-decoded numbers of a template into json.Number.
func normalize(v map[string]any) map[string]any {
	b, _ := json.Marshal(v)
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var out map[string]any
	dec.Decode(&out)
	return out
}

// bodyObject reads the request body as a JSON object.
func bodyObject(r *http.Request) (map[string]any, error) {
	raw, err := integration.ReadBody(r)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var obj map[string]any
	if err := dec.Decode(&obj); err != nil || obj == nil {
		return nil, httperr.New(http.StatusBadRequest, "the request body must be a JSON object")
	}
	return obj, nil
}

// Serve runs the action and answers plain JSON.
func (it *Integration) Serve(w http.ResponseWriter, r *http.Request, c *integration.Call) error {
	ctx := r.Context()
	table := aws.String(it.table.Expand(c.Params, nil))
	var result any
	switch it.action {
	case "PutItem":
		obj, err := bodyObject(r)
		if err != nil {
			return err
		}
		itm, err := toItem(obj)
		if err != nil {
			return httperr.Wrap(http.StatusBadRequest, "the body cannot be stored", err)
		}
		if _, err := it.client.PutItem(ctx, &dynamodb.PutItemInput{TableName: table, Item: itm}); err != nil {
			return mapErr(err)
		}
		result = obj
	case "GetItem":
		key, err := item(it.key, c.Params)
		if err != nil {
			return httperr.Wrap(http.StatusBadRequest, "key: "+err.Error(), err)
		}
		out, err := it.client.GetItem(ctx, &dynamodb.GetItemInput{TableName: table, Key: key})
		if err != nil {
			return mapErr(err)
		}
		if out.Item == nil {
			return httperr.New(http.StatusNotFound, "no item with that key")
		}
		result = fromItem(out.Item)
	case "DeleteItem":
		key, err := item(it.key, c.Params)
		if err != nil {
			return httperr.Wrap(http.StatusBadRequest, "key: "+err.Error(), err)
		}
		out, err := it.client.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: table, Key: key, ReturnValues: types.ReturnValueAllOld})
		if err != nil {
			return mapErr(err)
		}
		if out.Attributes == nil {
			return httperr.New(http.StatusNotFound, "no item with that key")
		}
		result = fromItem(out.Attributes)
	case "UpdateItem":
		key, err := item(it.key, c.Params)
		if err != nil {
			return httperr.Wrap(http.StatusBadRequest, "key: "+err.Error(), err)
		}
		in := &dynamodb.UpdateItemInput{TableName: table, Key: key, ReturnValues: types.ReturnValueAllNew}
		if it.update != nil {
			in.UpdateExpression = aws.String(it.update.Expand(c.Params, nil))
			if it.values != nil {
				if in.ExpressionAttributeValues, err = item(it.values, c.Params); err != nil {
					return httperr.Wrap(http.StatusBadRequest, "expression_attribute_values: "+err.Error(), err)
				}
			}
		} else {
			// A JSON-object body is a legacy AttributeUpdates set.
			obj, err := bodyObject(r)
			if err != nil {
				return err
			}
			in.AttributeUpdates = map[string]types.AttributeValueUpdate{}
			for k, v := range obj {
				a, err := toAttr(v)
				if err != nil {
					return httperr.Wrap(http.StatusBadRequest, "the body cannot be stored", err)
				}
				in.AttributeUpdates[k] = types.AttributeValueUpdate{Action: types.AttributeActionPut, Value: a}
			}
		}
		out, err := it.client.UpdateItem(ctx, in)
		if err != nil {
			return mapErr(err)
		}
		result = fromItem(out.Attributes)
	case "Scan":
		in := &dynamodb.ScanInput{TableName: table}
		if it.limit != nil {
			n, err := strconv.Atoi(it.limit.Expand(c.Params, nil))
			if err != nil || n <= 0 {
				return httperr.New(http.StatusBadRequest, "limit must be a positive integer")
			}
			in.Limit = aws.Int32(int32(n))
		}
		if it.startKey != nil {
			sk, err := item(it.startKey, c.Params)
			if err != nil {
				return httperr.Wrap(http.StatusBadRequest, "exclusive_start_key: "+err.Error(), err)
			}
			in.ExclusiveStartKey = sk
		}
		out, err := it.client.Scan(ctx, in)
		if err != nil {
			return mapErr(err)
		}
		items := make([]any, len(out.Items))
		for i, itm := range out.Items {
			items[i] = fromItem(itm)
		}
		result = items
	}
	b, err := json.Marshal(result)
	if err != nil {
		return httperr.Wrap(http.StatusBadGateway, "the table's answer cannot be written as JSON", err)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(http.StatusOK)
	w.Write(b)
	return nil
}

// mapErr: the table's validation errors are the client's (400), a missing
// table 404, the rest a 502.
func mapErr(err error) error {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "ValidationException", "ConditionalCheckFailedException":
			return httperr.Wrap(http.StatusBadRequest, "the table refused the request: "+ae.ErrorMessage(), err)
		case "ResourceNotFoundException":
			return httperr.Wrap(http.StatusNotFound, "no such table", err)
		}
	}
	return httperr.Wrap(http.StatusBadGateway, "the table is unavailable", err)
}
