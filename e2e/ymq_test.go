package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os/exec"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

// startSQS runs the npm local-aws-sqs (installed by scripts/test-servers)
// on a free port until the test ends, and returns its endpoint.
func startSQS(t *testing.T) string {
	t.Helper()
	mod := testServerModule(t, "local-aws-sqs")
	needInterpreter(t, "node")
	port := freePort(t)
	script := fmt.Sprintf(`require(%q).createSqsServer({port: %d, hostname: "127.0.0.1", emulateQueueCreationLifecycle: false})`, mod, port)
	return startTestServer(t, "local-aws-sqs", exec.Command("node", "-e", script), port)
}

// TestYMQRealSQS: a POST becomes a message in a real SQS-compatible queue;
// the message received from the queue is the one sent.
func TestYMQRealSQS(t *testing.T) {
	endpoint := startSQS(t)
	ctx := context.Background()
	client := sqs.NewFromConfig(aws.Config{Region: "ru-central1", Credentials: credentials.NewStaticCredentialsProvider("k", "s", "")},
		func(o *sqs.Options) { o.BaseEndpoint = aws.String(endpoint) })
	q, err := client.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("orders")})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	spec := writeFile(t, dir, "api.yaml", `openapi: 3.0.0
paths:
  /orders:
    post:
      x-yc-apigateway-integration:
        type: cloud_ymq
        action: SendMessage
        queue_url: https://message-queue.api.cloud.yandex.net/b1g/dj6/orders
        folder_id: b1g
  /orders-request:
    post:
      operationId: postOrder
      x-yc-apigateway-integration:
        type: cloud_ymq
        action: SendMessage
        queue_url: https://message-queue.api.cloud.yandex.net/b1g/dj6/orders
        folder_id: b1g
        payload_format_type: request
`)
	cfg := writeFile(t, dir, "apigw.yaml", fmt.Sprintf(`queues:
  https://message-queue.api.cloud.yandex.net/b1g/dj6/orders:
    endpoint: %s
    url: %s
    access_key_id: k
    secret_access_key: s
`, endpoint, aws.ToString(q.QueueUrl)))
	g := start(t, "--spec", spec, "--config", cfg)
	receive := func() string {
		out, err := client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: q.QueueUrl, WaitTimeSeconds: 2})
		if err != nil || len(out.Messages) != 1 {
			t.Fatalf("receive: %v %v", out, err)
		}
		client.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: q.QueueUrl, ReceiptHandle: out.Messages[0].ReceiptHandle})
		return aws.ToString(out.Messages[0].Body)
	}
	res, err := http.Post(g.URL+"/orders", "application/json; charset=utf-8", strings.NewReader(`{"item":"tea","n":2}`))
	if err != nil {
		t.Fatal(err)
	}
	var ack map[string]string
	json.NewDecoder(res.Body).Decode(&ack)
	res.Body.Close()
	if res.StatusCode != 200 || ack["MessageId"] == "" || ack["MD5OfMessageBody"] == "" {
		t.Fatalf("send: %d %v", res.StatusCode, ack)
	}
	if got := receive(); got != `{"item":"tea","n":2}` {
		t.Errorf("the queue holds %q", got)
	}
	http.Post(g.URL+"/orders", "text/plain", strings.NewReader("plain text"))
	if got := receive(); got != "cGxhaW4gdGV4dA==" {
		t.Errorf("a text body should be written as Base64: %q", got)
	}
	http.Post(g.URL+"/orders-request", "application/json", strings.NewReader(`{"a":1}`))
	var ev map[string]any
	if err := json.Unmarshal([]byte(receive()), &ev); err != nil || ev["operationId"] != "postOrder" || ev["body"] != `{"a":1}` || ev["httpMethod"] != "POST" {
		t.Errorf("payload_format_type request: %v (%v)", ev, err)
	}
	// A queue that is gone: 502 with a clear message, nothing half-written.
	client.DeleteQueue(ctx, &sqs.DeleteQueueInput{QueueUrl: q.QueueUrl})
	res, _ = http.Post(g.URL+"/orders", "application/json", strings.NewReader(`{}`))
	if res == nil || res.StatusCode != 502 {
		t.Errorf("deleted queue: %v", res)
	}
}
