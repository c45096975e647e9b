package ydb

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"sort"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// toAttr converts plain JSON (as decoded with UseNumber) to an
// AttributeValue: strings S, numbers N (their exact text), booleans BOOL,
// null NULL, arrays L, objects M.
func toAttr(v any) (types.AttributeValue, error) {
	switch x := v.(type) {
	case nil:
		return &types.AttributeValueMemberNULL{Value: true}, nil
	case string:
		return &types.AttributeValueMemberS{Value: x}, nil
	case json.Number:
		return &types.AttributeValueMemberN{Value: x.String()}, nil
	case float64:
		return &types.AttributeValueMemberN{Value: json.Number(fmt.Sprint(x)).String()}, nil
	case bool:
		return &types.AttributeValueMemberBOOL{Value: x}, nil
	case []any:
		l := make([]types.AttributeValue, len(x))
		for i, e := range x {
			a, err := toAttr(e)
			if err != nil {
				return nil, err
			}
			l[i] = a
		}
		return &types.AttributeValueMemberL{Value: l}, nil
	case map[string]any:
		m, err := toItem(x)
		if err != nil {
			return nil, err
		}
		return &types.AttributeValueMemberM{Value: m}, nil
	}
	return nil, fmt.Errorf("unsupported JSON value %T", v)
}

// toItem converts a JSON object to an item.
func toItem(obj map[string]any) (map[string]types.AttributeValue, error) {
	out := make(map[string]types.AttributeValue, len(obj))
	for k, v := range obj {
		a, err := toAttr(v)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", k, err)
		}
		out[k] = a
	}
	return out, nil
}

// fromAttr converts an AttributeValue back to plain JSON: numbers keep
// their exact text, sets become sorted arrays, binary becomes Base64.
func fromAttr(a types.AttributeValue) any {
	switch x := a.(type) {
	case *types.AttributeValueMemberS:
		return x.Value
	case *types.AttributeValueMemberN:
		return json.Number(x.Value)
	case *types.AttributeValueMemberBOOL:
		return x.Value
	case *types.AttributeValueMemberNULL:
		return nil
	case *types.AttributeValueMemberB:
		return base64.StdEncoding.EncodeToString(x.Value)
	case *types.AttributeValueMemberL:
		out := make([]any, len(x.Value))
		for i, e := range x.Value {
			out[i] = fromAttr(e)
		}
		return out
	case *types.AttributeValueMemberM:
		return fromItem(x.Value)
	case *types.AttributeValueMemberSS:
		s := append([]string(nil), x.Value...)
		sort.Strings(s)
		return s
	case *types.AttributeValueMemberNS:
		out := make([]any, len(x.Value))
		for i, n := range x.Value {
			out[i] = json.Number(n)
		}
		return out
	case *types.AttributeValueMemberBS:
		out := make([]string, len(x.Value))
		for i, b := range x.Value {
			out[i] = base64.StdEncoding.EncodeToString(b)
		}
		return out
	}
	return nil
}

// fromItem converts an item back to a JSON object.
func fromItem(item map[string]types.AttributeValue) map[string]any {
	out := make(map[string]any, len(item))
	for k, v := range item {
		out[k] = fromAttr(v)
	}
	return out
}
