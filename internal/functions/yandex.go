package functions

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	"github.com/apigw/apigw/internal/yc"
)

// DefaultFunctionsEndpoint is Yandex Cloud Functions' invoke endpoint.
const DefaultFunctionsEndpoint = "https://functions.yandexcloud.net"

// YandexInvoker invokes the real cloud function: POST
// <endpoint>/<function_id>?integration=raw&tag=<tag> with the event as the
// body and an IAM token of the bound service account, the call `yc
// serverless function invoke` makes. With integration=raw the function gets
// the event as its event and its return value comes back as the answer.
type YandexInvoker struct {
	Endpoint string
	Tokens   *yc.TokenSource
	URLInvoker
}

// Invoke implements Invoker.
func (y *YandexInvoker) Invoke(ctx context.Context, inv *Invocation) ([]byte, error) {
	token, err := y.Tokens.Token(ctx)
	if err != nil {
		return nil, fmt.Errorf("IAM token for function %s: %w", inv.FunctionID, err)
	}
	tag := inv.Tag
	if tag == "" {
		tag = "$latest"
	}
	target := strings.TrimSuffix(y.Endpoint, "/") + "/" + url.PathEscape(inv.FunctionID) +
		"?integration=raw&tag=" + url.QueryEscape(tag)
	return y.post(ctx, target, inv, token)
}
