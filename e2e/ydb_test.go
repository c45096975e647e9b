package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// startDynalite runs the npm dynalite (installed by scripts/test-servers)
// in memory on a free port until the test ends.
func startDynalite(t *testing.T) string {
	t.Helper()
	mod := testServerModule(t, "dynalite")
	needInterpreter(t, "node")
	port := freePort(t)
	script := fmt.Sprintf(`require(%q)({createTableMs: 0, deleteTableMs: 0}).listen(%d, "127.0.0.1")`, mod, port)
	return startTestServer(t, "dynalite", exec.Command("node", "-e", script), port)
}

// moviesTable starts dynalite with an empty table "movies" (key "id", a
// string) and returns its endpoint and a client of it.
func moviesTable(t *testing.T) (string, *dynamodb.Client) {
	t.Helper()
	endpoint := startDynalite(t)
	client := dynamodb.NewFromConfig(aws.Config{Region: "ru-central1", Credentials: credentials.NewStaticCredentialsProvider("k", "s", "")},
		func(o *dynamodb.Options) { o.BaseEndpoint = aws.String(endpoint) })
	if _, err := client.CreateTable(context.Background(), &dynamodb.CreateTableInput{
		TableName:            aws.String("movies"),
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String("id"), KeyType: types.KeyTypeHash}},
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String("id"), AttributeType: types.ScalarAttributeTypeS}},
		BillingMode:          types.BillingModePayPerRequest,
	}); err != nil {
		t.Fatal(err)
	}
	return endpoint, client
}

// TestYDBRealDynamo: PutItem, GetItem, UpdateItem, Scan and DeleteItem
// through the gateway against a real DynamoDB-compatible server; the item
// read back directly is the one written.
func TestYDBRealDynamo(t *testing.T) {
	endpoint, client := moviesTable(t)
	ctx := context.Background()
	op := func(action, extra string) string {
		return "      x-yc-apigateway-integration: {type: cloud_ydb, action: " + action + ", database: /ru-central1/b1g/etn, table_name: movies" + extra + "}\n"
	}
	dir := t.TempDir()
	spec := writeFile(t, dir, "api.yaml", `openapi: 3.0.0
paths:
  /movies:
    post:
`+op("PutItem", "")+`    get:
      parameters: [{name: limit, in: query, schema: {type: string, default: "10"}}]
`+op("Scan", ", limit: '{limit}'")+`  /movies/{id}:
    parameters: [{name: id, in: path, required: true, schema: {type: string}}]
    get:
`+op("GetItem", `, key: '{"id": "{id}"}'`)+`    delete:
`+op("DeleteItem", `, key: '{"id": "{id}"}'`)+`    patch:
      parameters: [{name: rating, in: query, schema: {type: string}}]
`+op("UpdateItem", `, key: '{"id": "{id}"}', update_expression: 'SET rating = :r', expression_attribute_values: '{":r": "{rating}"}'`))
	cfg := writeFile(t, dir, "apigw.yaml", fmt.Sprintf("ydb:\n  /ru-central1/b1g/etn: {endpoint: %s, access_key_id: k, secret_access_key: s}\n", endpoint))
	g := start(t, "--spec", spec, "--config", cfg)
	call := func(method, path, body string) (int, string) {
		status, _, b := send(t, method, g.URL+path, body, "Content-Type", "application/json")
		return status, b
	}
	movie := `{"id":"m1","title":"Солярис","year":1972,"score":8.1,"tags":["sci-fi",{"lang":"ru"}],"color":true,"sequel":null}`
	if status, body := call("POST", "/movies", movie); status != 200 || body != `{"color":true,"id":"m1","score":8.1,"sequel":null,"tags":["sci-fi",{"lang":"ru"}],"title":"Солярис","year":1972}` {
		t.Fatalf("PutItem: %d %s", status, body)
	}
	direct, err := client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("movies"), Key: map[string]types.AttributeValue{"id": &types.AttributeValueMemberS{Value: "m1"}}})
	if err != nil || direct.Item["year"].(*types.AttributeValueMemberN).Value != "1972" || direct.Item["title"].(*types.AttributeValueMemberS).Value != "Солярис" {
		t.Fatalf("stored item: %v %v", direct, err)
	}
	if status, body := call("GET", "/movies/m1", ""); status != 200 || !strings.Contains(body, `"year":1972`) || !strings.Contains(body, `"tags":["sci-fi",{"lang":"ru"}]`) {
		t.Errorf("GetItem: %d %s", status, body)
	}
	if status, _ := call("GET", "/movies/none", ""); status != 404 {
		t.Errorf("GetItem of a missing key: %d", status)
	}
	// A value with quotes cannot break out of its JSON string in the key.
	if status, _ := call("GET", `/movies/m1%22,%22x%22:%221`, ""); status != 404 {
		t.Errorf("quote injection in the key: %d", status)
	}
	if status, body := call("PATCH", "/movies/m1?rating=PG", ""); status != 200 || !strings.Contains(body, `"rating":"PG"`) {
		t.Errorf("UpdateItem: %d %s", status, body)
	}
	call("POST", "/movies", `{"id":"m2","title":"Stalker"}`)
	status, body := call("GET", "/movies?limit=10", "")
	var list []map[string]any
	if status != 200 || json.Unmarshal([]byte(body), &list) != nil || len(list) != 2 {
		t.Errorf("Scan: %d %s", status, body)
	}
	if status, body := call("DELETE", "/movies/m2", ""); status != 200 || !strings.Contains(body, "Stalker") {
		t.Errorf("DeleteItem: %d %s", status, body)
	}
	if status, _ := call("POST", "/movies", `[1,2]`); status != 400 {
		t.Errorf("PutItem of a non-object: %d", status)
	}
}

// TestTablesExample runs examples/tables as the README says, against a
// real DynamoDB-compatible server with the table dev-servers creates.
func TestTablesExample(t *testing.T) {
	endpoint, _ := moviesTable(t)
	cfg := writeFile(t, t.TempDir(), "apigw.yaml", strings.Replace(mustRead(t, "../examples/tables/apigw.yaml"), "http://127.0.0.1:4569", endpoint, 1))
	g := start(t, "--spec", "../examples/tables/api.yaml", "--config", cfg)
	call := func(method, path, body string) string {
		status, _, b := send(t, method, g.URL+path, body, "Content-Type", "application/json")
		if status != 200 {
			t.Fatalf("%s %s: %d %s", method, path, status, b)
		}
		return b
	}
	call("POST", "/movies", `{"id":"m1","title":"Solaris","year":1972}`)
	if got := call("PATCH", "/movies/m1?rating=5", ""); got != `{"id":"m1","rating":"5","title":"Solaris","year":1972}` {
		t.Errorf("rated: %s", got)
	}
	if got := call("GET", "/movies?limit=5", ""); got != `[{"id":"m1","rating":"5","title":"Solaris","year":1972}]` {
		t.Errorf("list: %s", got)
	}
	call("DELETE", "/movies/m1", "")
	if got := call("GET", "/movies", ""); got != `[]` {
		t.Errorf("after delete: %s", got)
	}
}
