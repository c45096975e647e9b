package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

// startKinesalite runs the npm kinesalite (installed by
// scripts/test-servers) in memory on a free port until the test ends.
func startKinesalite(t *testing.T) string {
	t.Helper()
	mod := testServerModule(t, "kinesalite")
	needInterpreter(t, "node")
	port := freePort(t)
	script := fmt.Sprintf(`require(%q)({createStreamMs: 0, deleteStreamMs: 0, updateStreamMs: 0}).listen(%d, "127.0.0.1")`, mod, port)
	return startTestServer(t, "kinesalite", exec.Command("node", "-e", script), port)
}

// TestDataStreamsRealKinesis: a POST becomes a record in a real
// Kinesis-compatible stream; the record read from the shard is the one put.
func TestDataStreamsRealKinesis(t *testing.T) {
	endpoint := startKinesalite(t)
	ctx := context.Background()
	client := kinesis.NewFromConfig(aws.Config{Region: "ru-central1", Credentials: credentials.NewStaticCredentialsProvider("k", "s", "")},
		func(o *kinesis.Options) { o.BaseEndpoint = aws.String(endpoint) })
	if _, err := client.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String("events"), ShardCount: aws.Int32(1)}); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		d, err := client.DescribeStream(ctx, &kinesis.DescribeStreamInput{StreamName: aws.String("events")})
		if err == nil && d.StreamDescription.StreamStatus == types.StreamStatusActive {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the stream never became active")
		}
	}
	dir := t.TempDir()
	spec := writeFile(t, dir, "api.yaml", `openapi: 3.0.0
paths:
  /events/{user}:
    post:
      parameters: [{name: user, in: path, required: true, schema: {type: string}}]
      x-yc-apigateway-integration:
        type: cloud_datastreams
        action: PutRecord
        stream_name: /ru-central1/b1g/etn/events
        partition_key: '{user}'
`)
	cfg := writeFile(t, dir, "apigw.yaml", fmt.Sprintf("streams:\n  /ru-central1/b1g/etn/events: {endpoint: %s, name: events, access_key_id: k, secret_access_key: s}\n", endpoint))
	g := start(t, "--spec", spec, "--config", cfg)
	res, err := http.Post(g.URL+"/events/u42", "application/json", strings.NewReader(`{"click":"buy"}`))
	if err != nil {
		t.Fatal(err)
	}
	var ack map[string]string
	json.NewDecoder(res.Body).Decode(&ack)
	res.Body.Close()
	if res.StatusCode != 200 || ack["ShardId"] == "" || ack["SequenceNumber"] == "" {
		t.Fatalf("put: %d %v", res.StatusCode, ack)
	}
	it, err := client.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{StreamName: aws.String("events"), ShardId: aws.String(ack["ShardId"]), ShardIteratorType: types.ShardIteratorTypeTrimHorizon})
	if err != nil {
		t.Fatal(err)
	}
	recs, err := client.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: it.ShardIterator})
	if err != nil || len(recs.Records) != 1 {
		t.Fatalf("records: %v %v", recs, err)
	}
	r := recs.Records[0]
	if string(r.Data) != `{"click":"buy"}` || aws.ToString(r.PartitionKey) != "u42" || aws.ToString(r.SequenceNumber) != ack["SequenceNumber"] {
		t.Errorf("record: %q key %q seq %q", r.Data, aws.ToString(r.PartitionKey), aws.ToString(r.SequenceNumber))
	}
	// A stream that is gone: 502.
	client.DeleteStream(ctx, &kinesis.DeleteStreamInput{StreamName: aws.String("events")})
	time.Sleep(200 * time.Millisecond)
	res, _ = http.Post(g.URL+"/events/u42", "application/json", strings.NewReader(`{}`))
	if res == nil || res.StatusCode != 502 {
		t.Errorf("deleted stream: %v", res)
	}
}

// TestIngestExample runs examples/ingest against real SQS- and
// Kinesis-compatible servers (as scripts/dev-servers provides them): a
// POST lands in the queue, another in the stream as the 1.0 event.
func TestIngestExample(t *testing.T) {
	sqsURL, kinURL := startSQS(t), startKinesalite(t)
	ctx := context.Background()
	creds := credentials.NewStaticCredentialsProvider("local", "local", "")
	qc := sqs.NewFromConfig(aws.Config{Region: "ru-central1", Credentials: creds}, func(o *sqs.Options) { o.BaseEndpoint = aws.String(sqsURL) })
	q, err := qc.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("events")})
	if err != nil {
		t.Fatal(err)
	}
	kc := kinesis.NewFromConfig(aws.Config{Region: "ru-central1", Credentials: creds}, func(o *kinesis.Options) { o.BaseEndpoint = aws.String(kinURL) })
	if _, err := kc.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String("clicks"), ShardCount: aws.Int32(1)}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	cfg := mustRead(t, "../examples/ingest/apigw.yaml")
	cfg = strings.ReplaceAll(cfg, "http://127.0.0.1:9324/123456789012/events", aws.ToString(q.QueueUrl))
	cfg = strings.ReplaceAll(cfg, "http://127.0.0.1:9324", sqsURL)
	cfg = strings.ReplaceAll(cfg, "http://127.0.0.1:4567", kinURL)
	g := start(t, "--spec", "../examples/ingest/api.yaml", "--config", writeFile(t, t.TempDir(), "apigw.yaml", cfg))

	if res, err := http.Post(g.URL+"/events", "application/json", strings.NewReader(`{"type":"signup"}`)); err != nil || res.StatusCode != 200 {
		t.Fatalf("POST /events: %v %v", res, err)
	}
	msgs, err := qc.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: q.QueueUrl, WaitTimeSeconds: 2})
	if err != nil || len(msgs.Messages) != 1 || aws.ToString(msgs.Messages[0].Body) != `{"type":"signup"}` {
		t.Errorf("queue: %v %v", msgs, err)
	}
	res, err := http.Post(g.URL+"/clicks/ann", "text/plain", strings.NewReader("clicked"))
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("POST /clicks: %v %v", res, err)
	}
	var ack map[string]string
	json.NewDecoder(res.Body).Decode(&ack)
	it, _ := kc.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{StreamName: aws.String("clicks"), ShardId: aws.String(ack["ShardId"]), ShardIteratorType: types.ShardIteratorTypeTrimHorizon})
	recs, err := kc.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: it.ShardIterator})
	if err != nil || len(recs.Records) != 1 {
		t.Fatalf("stream: %v %v", recs, err)
	}
	var ev map[string]any
	json.Unmarshal(recs.Records[0].Data, &ev)
	if ev["operationId"] != "postClick" || ev["body"] != "Y2xpY2tlZA==" || aws.ToString(recs.Records[0].PartitionKey) != "ann" {
		t.Errorf("record: %s key %s", recs.Records[0].Data, aws.ToString(recs.Records[0].PartitionKey))
	}
}
