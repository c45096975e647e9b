package connectionapi

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	pb "github.com/apigw/apigw/internal/connectionapi/connectionpb"
	"github.com/apigw/apigw/internal/websocket"
	cws "github.com/coder/websocket"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"golang.org/x/net/http2"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// echoServer accepts WebSocket connections into hub and echoes them.
func echoServer(t *testing.T, hub *websocket.Hub) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := websocket.Handshake(r); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		id := websocket.NewID()
		c, err := websocket.Accept(w, r, id, http.Header{"X-Yc-Apigateway-Websocket-Connection-Id": {id}}, websocket.DefaultOptions, hub.Add)
		if err != nil {
			return
		}
		c.Serve(func(m websocket.Message) { c.Send(m.Op, m.Data) })
	}))
	t.Cleanup(srv.Close)
	return srv
}

// connect opens a client on srv and returns it with its connection ID.
func connect(t *testing.T, srv *httptest.Server) (*cws.Conn, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, res, err := cws.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		t.Fatal(err)
	}
	c.SetReadLimit(1 << 20)
	t.Cleanup(func() { c.CloseNow() })
	return c, res.Header.Get("X-Yc-Apigateway-Websocket-Connection-Id")
}

func read(t *testing.T, c *cws.Conn) (cws.MessageType, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	typ, b, err := c.Read(ctx)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	return typ, string(b)
}

// serveAPI serves api as the admin listener does: HTTP/1.1 through
// net/http, h2c (gRPC) on gRPC's own transport.
func serveAPI(t testing.TB, api *API) *httptest.Server {
	srv := httptest.NewUnstartedServer(api)
	http1, h2c := SplitH2C(srv.Listener)
	srv.Listener = http1
	go api.GRPC().Serve(h2c)
	srv.Start()
	t.Cleanup(func() { srv.Close(); api.GRPC().Stop() })
	return srv
}

// serveAPIOverTLS serves api over HTTPS with HTTP/2, through net/http
// alone (gRPC through ServeHTTP), as an admin listener with admin_tls and
// the intercept do.
func serveAPIOverTLS(t testing.TB, api *API) *httptest.Server {
	srv := httptest.NewUnstartedServer(api)
	srv.EnableHTTP2 = true
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

func grpcClient(t *testing.T, srv *httptest.Server) pb.ConnectionServiceClient {
	return pb.NewConnectionServiceClient(grpcConn(t, srv))
}

// grpcConn is a gRPC connection to srv: plaintext (h2c) or, for an HTTPS
// server, TLS trusting its certificate.
func grpcConn(t *testing.T, srv *httptest.Server) *grpc.ClientConn {
	creds := insecure.NewCredentials()
	if srv.TLS != nil {
		roots := x509.NewCertPool()
		roots.AddCert(srv.Certificate())
		creds = credentials.NewTLS(&tls.Config{RootCAs: roots})
	}
	cc, err := grpc.NewClient(strings.TrimPrefix(strings.TrimPrefix(srv.URL, "http://"), "https://"), grpc.WithTransportCredentials(creds))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	return cc
}

func TestREST(t *testing.T) {
	hub := websocket.NewHub("gw1")
	ws := echoServer(t, hub)
	api := serveAPI(t, &API{Registry: hub})
	c, id := connect(t, ws)
	call := func(method, path, body string) (int, map[string]any) {
		req, _ := http.NewRequest(method, api.URL+path, strings.NewReader(body))
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var out map[string]any
		b, _ := io.ReadAll(res.Body)
		json.Unmarshal(b, &out)
		return res.StatusCode, out
	}
	base := connectionsPrefix
	// Send (conformance 50), both path spellings.
	for _, path := range []string{base + id + ":send", base + id + "/:send"} {
		status, out := call("POST", path, `{"data":"aGVsbG8=","type":"TEXT"}`)
		if status != 200 || len(out) != 0 {
			t.Fatalf("send %s: %d %v", path, status, out)
		}
		if typ, got := read(t, c); typ != cws.MessageText || got != "hello" {
			t.Fatalf("client got %v %q", typ, got)
		}
	}
	// Get (conformance 51).
	status, info := call("GET", base+id, "")
	if status != 200 || info["id"] != id || info["gatewayId"] != "gw1" || info["identity"].(map[string]any)["sourceIp"] != "127.0.0.1" {
		t.Errorf("get: %d %v", status, info)
	}
	if _, err := time.Parse(time.RFC3339, fmt.Sprint(info["connectedAt"])); err != nil {
		t.Errorf("connectedAt %v", info["connectedAt"])
	}
	for _, tt := range []struct {
		method, path, body string
		status, code       int
	}{
		{"POST", base + "nope:send", `{"data":"aGk="}`, 404, 5},
		{"GET", base + "nope", "", 404, 5},
		{"POST", base + id + ":send", `{"data":"not base64!"}`, 400, 3},
		{"POST", base + id + ":send", `{"type":"TEXT"}`, 400, 3},
		{"POST", base + id + ":send", `{"data":"aGk=","type":"MORSE"}`, 400, 3},
		{"POST", base + id + ":send", `{"data":"` + base64.StdEncoding.EncodeToString(make([]byte, MaxSend+1)) + `"}`, 400, 3},
		{"GET", base + strings.Repeat("x", 51), "", 400, 3},
		{"PUT", base + id, "", 400, 3},
		{"GET", "/apigateways/websocket/v1/elsewhere", "", 404, 5},
	} {
		status, out := call(tt.method, tt.path, tt.body)
		if status != tt.status || out["code"] != float64(tt.code) || out["message"] == "" {
			t.Errorf("%s %.60s: %d %v, want %d code %d", tt.method, tt.path, status, out, tt.status, tt.code)
		}
	}
	// Broadcast to the path.
	if status, out := call("POST", BroadcastPath, `{"path":"/","data":"YWxs","type":"BINARY"}`); status != 200 || out["delivered"] != float64(1) {
		t.Errorf("broadcast: %d %v", status, out)
	}
	if typ, got := read(t, c); typ != cws.MessageBinary || got != "all" {
		t.Errorf("broadcast arrived as %v %q", typ, got)
	}
	// Disconnect (conformance 52): the client sees 1000.
	if status, _ := call("DELETE", base+id, ""); status != 200 {
		t.Errorf("delete: %d", status)
	}
	if _, _, err := c.Read(context.Background()); cws.CloseStatus(err) != 1000 {
		t.Errorf("after delete the client saw %v", err)
	}
}

// TestGRPC: the gRPC form, with a real grpc-go client over h2c: the same
// calls, the cloud's status codes, and garbage that leaves it serving.
func TestGRPC(t *testing.T) {
	t.Run("h2c", func(t *testing.T) { testGRPC(t, serveAPI) })
	t.Run("TLS", func(t *testing.T) { testGRPC(t, serveAPIOverTLS) })
}

func testGRPC(t *testing.T, serve func(testing.TB, *API) *httptest.Server) {
	hub := websocket.NewHub("gw1")
	ws := echoServer(t, hub)
	srv := serve(t, &API{Registry: hub})
	client := grpcClient(t, srv)
	c, id := connect(t, ws)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	if _, err := client.Send(ctx, &pb.SendToConnectionRequest{ConnectionId: id, Data: []byte("hi"), Type: pb.SendToConnectionRequest_TEXT}); err != nil {
		t.Fatal(err)
	}
	if typ, got := read(t, c); typ != cws.MessageText || got != "hi" {
		t.Errorf("TEXT arrived as %v %q", typ, got)
	}
	for _, typ := range []pb.SendToConnectionRequest_DataType{pb.SendToConnectionRequest_BINARY, pb.SendToConnectionRequest_DATA_TYPE_UNSPECIFIED} {
		if _, err := client.Send(ctx, &pb.SendToConnectionRequest{ConnectionId: id, Data: []byte{0, 1}, Type: typ}); err != nil {
			t.Fatal(err)
		}
		if got, _ := read(t, c); got != cws.MessageBinary {
			t.Errorf("%v arrived as %v", typ, got)
		}
	}
	// The largest payload goes through whole.
	big := strings.Repeat("x", MaxSend)
	if _, err := client.Send(ctx, &pb.SendToConnectionRequest{ConnectionId: id, Data: []byte(big), Type: pb.SendToConnectionRequest_TEXT}); err != nil {
		t.Fatal(err)
	}
	if _, got := read(t, c); got != big {
		t.Errorf("a %d-byte message arrived as %d bytes", MaxSend, len(got))
	}
	conn, err := client.Get(ctx, &pb.GetConnectionRequest{ConnectionId: id})
	if err != nil {
		t.Fatal(err)
	}
	if conn.Id != id || conn.GatewayId != "gw1" || conn.Identity.GetSourceIp() != "127.0.0.1" ||
		conn.ConnectedAt.AsTime().IsZero() || conn.LastActiveAt.AsTime().Before(conn.ConnectedAt.AsTime()) {
		t.Errorf("Get: %v", conn)
	}
	for _, tt := range []struct {
		name string
		call func() error
		want codes.Code
	}{
		{"Send to an unknown connection", func() error {
			_, err := client.Send(ctx, &pb.SendToConnectionRequest{ConnectionId: "nope", Data: []byte("x")})
			return err
		}, codes.NotFound},
		{"Get of an unknown connection", func() error { _, err := client.Get(ctx, &pb.GetConnectionRequest{ConnectionId: "nope"}); return err }, codes.NotFound},
		{"Disconnect of an unknown connection", func() error {
			_, err := client.Disconnect(ctx, &pb.DisconnectRequest{ConnectionId: "nope"})
			return err
		}, codes.NotFound},
		{"Send over 128 KB", func() error {
			_, err := client.Send(ctx, &pb.SendToConnectionRequest{ConnectionId: id, Data: make([]byte, MaxSend+1)})
			return err
		}, codes.InvalidArgument},
		{"an ID over 50 characters", func() error {
			_, err := client.Get(ctx, &pb.GetConnectionRequest{ConnectionId: strings.Repeat("x", 51)})
			return err
		}, codes.InvalidArgument},
		{"an empty ID", func() error { _, err := client.Get(ctx, &pb.GetConnectionRequest{}); return err }, codes.InvalidArgument},
		{"an unknown data type", func() error {
			_, err := client.Send(ctx, &pb.SendToConnectionRequest{ConnectionId: id, Data: []byte("x"), Type: 7})
			return err
		}, codes.InvalidArgument},
		{"a 2 MB message", func() error {
			_, err := client.Send(ctx, &pb.SendToConnectionRequest{ConnectionId: id, Data: make([]byte, 2<<20)})
			return err
		}, codes.ResourceExhausted},
	} {
		if err := tt.call(); status.Code(err) != tt.want || status.Convert(err).Message() == "" {
			t.Errorf("%s: %v, want %v", tt.name, err, tt.want)
		}
	}
	// An unknown method of the service, and an unknown service.
	cc := grpcConn(t, srv)
	for _, method := range []string{GRPCPrefix + "Broadcast", "/yandex.cloud.compute.v1.InstanceService/Get"} {
		err := cc.Invoke(ctx, method, &pb.GetConnectionRequest{ConnectionId: id}, &pb.Connection{})
		if status.Code(err) != codes.Unimplemented {
			t.Errorf("%s: %v, want Unimplemented", method, err)
		}
	}
	// A malformed request: a frame whose bytes are not the message.
	h2 := srv.Client() // HTTP/2 over TLS
	if srv.TLS == nil {
		h2 = &http.Client{Transport: &http2.Transport{AllowHTTP: true, DialTLSContext: func(ctx context.Context, network, addr string, _ *tls.Config) (net.Conn, error) {
			return net.Dial(network, addr)
		}}}
	}
	frame := append([]byte{0, 0, 0, 0, 5}, 0xff, 0xff, 0xff, 0xff, 0xff)
	req, _ := http.NewRequest("POST", srv.URL+GRPCPrefix+"Send", strings.NewReader(string(frame)))
	req.Header.Set("Content-Type", "application/grpc")
	req.Header.Set("Te", "trailers")
	res, err := h2.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if got := res.Trailer.Get("Grpc-Status") + res.Header.Get("Grpc-Status"); got != fmt.Sprint(int(codes.Internal)) {
		t.Errorf("malformed request: grpc-status %q, want INTERNAL", got)
	}
	// Still serving; Disconnect closes the client with 1000.
	if _, err := client.Disconnect(ctx, &pb.DisconnectRequest{ConnectionId: id}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.Read(ctx); cws.CloseStatus(err) != 1000 {
		t.Errorf("after Disconnect the client saw %v", err)
	}
	if _, err := client.Get(ctx, &pb.GetConnectionRequest{ConnectionId: id}); status.Code(err) != codes.NotFound {
		t.Errorf("Get after Disconnect: %v", err)
	}
	for _, c := range []struct {
		call, code string
		min        float64
	}{{"Send", "OK", 4}, {"Send", "InvalidArgument", 2}, {"Get", "NotFound", 2}, {"Disconnect", "OK", 1}} {
		if n := testutil.ToFloat64(Calls.WithLabelValues("grpc", c.call, c.code, "admin")); n < c.min {
			t.Errorf("apigw_connection_api_calls_total{grpc, %s, %s} = %v, want at least %v", c.call, c.code, n, c.min)
		}
	}
}

// TestAccess: both forms answer to the same rule.
func TestAccess(t *testing.T) {
	t.Run("h2c", func(t *testing.T) { testAccess(t, serveAPI) })
	t.Run("TLS", func(t *testing.T) { testAccess(t, serveAPIOverTLS) })
	t.Run("rules", testAccessRules)
}

func testAccess(t *testing.T, serve func(testing.TB, *API) *httptest.Server) {
	hub := websocket.NewHub("gw")
	token := "s3cret"
	srv := serve(t, &API{Registry: hub, Authorize: AdminAccess(func() string { return token })})
	client := grpcClient(t, srv)
	web := srv.Client()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, tt := range []struct {
		header string
		rest   int
		rpc    codes.Code
	}{
		{"", 401, codes.Unauthenticated},
		{"Bearer wrong", 401, codes.Unauthenticated},
		{"Basic czNjcmV0", 401, codes.Unauthenticated},
		{"Bearer s3cret", 404, codes.NotFound},
	} {
		req, _ := http.NewRequest("GET", srv.URL+connectionsPrefix+"x", nil)
		rctx := ctx
		if tt.header != "" {
			req.Header.Set("Authorization", tt.header)
			rctx = metadata.AppendToOutgoingContext(ctx, "authorization", tt.header)
		}
		res, err := web.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != tt.rest {
			t.Errorf("REST with %q: %d, want %d", tt.header, res.StatusCode, tt.rest)
		}
		if _, err := client.Get(rctx, &pb.GetConnectionRequest{ConnectionId: "x"}); status.Code(err) != tt.rpc {
			t.Errorf("gRPC with %q: %v, want %v", tt.header, err, tt.rpc)
		}
	}
}

func testAccessRules(t *testing.T) {
	// Without a token, only loopback callers are served.
	open := AdminAccess(func() string { return "" })
	for addr, want := range map[string]*Status{"127.0.0.1:5000": nil, "[::1]:5000": nil, "192.0.2.7:5000": {Code: codes.PermissionDenied}} {
		if got := open(Caller{Addr: addr}); (got == nil) != (want == nil) || (got != nil && got.Code != want.Code) {
			t.Errorf("no token, caller %s: %v", addr, got)
		}
	}
	// BearerAccess takes exactly what accept takes.
	bearer := BearerAccess(func(tok string) bool { return tok == "fn-token" })
	for h, want := range map[string]bool{"": false, "Bearer ": false, "Bearer other": false, "Bearer fn-token": true} {
		if got := bearer(Caller{Addr: "127.0.0.1:1", Authorization: h}) == nil; got != want {
			t.Errorf("BearerAccess(%q) = %v", h, got)
		}
	}
}

// failing is a registry whose every call fails with err.
type failing struct{ err error }

func (f failing) Get(context.Context, string) (websocket.Info, error) { return websocket.Info{}, f.err }
func (f failing) Send(context.Context, string, websocket.Opcode, []byte) error {
	return f.err
}
func (f failing) Disconnect(context.Context, string) error { return f.err }
func (f failing) Broadcast(context.Context, string, websocket.Opcode, []byte) (int, error) {
	return 0, f.err
}

// TestRegistryErrors: what the registry says maps to the same code in
// both forms.
func TestRegistryErrors(t *testing.T) {
	for _, tt := range []struct {
		err  error
		http int
		rpc  codes.Code
	}{
		{websocket.ErrNotFound, 404, codes.NotFound},
		{websocket.ErrQueueFull, 429, codes.ResourceExhausted},
		{fmt.Errorf("wrapped: %w", websocket.ErrLocationUnknown), 503, codes.Unavailable},
		{errors.New("redis: connection refused"), 503, codes.Unavailable},
		{context.DeadlineExceeded, 504, codes.DeadlineExceeded},
	} {
		srv := serveAPI(t, &API{Registry: failing{tt.err}})
		res, err := http.Post(srv.URL+connectionsPrefix+"abc:send", "application/json", strings.NewReader(`{"data":"aGk=","type":"TEXT"}`))
		if err != nil {
			t.Fatal(err)
		}
		var body struct{ Code int }
		json.NewDecoder(res.Body).Decode(&body)
		res.Body.Close()
		if res.StatusCode != tt.http || body.Code != int(tt.rpc) {
			t.Errorf("%v: REST %d code %d, want %d code %d", tt.err, res.StatusCode, body.Code, tt.http, tt.rpc)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, err = grpcClient(t, srv).Send(ctx, &pb.SendToConnectionRequest{ConnectionId: "abc", Data: []byte("hi")})
		cancel()
		if status.Code(err) != tt.rpc {
			t.Errorf("%v: gRPC %v, want %v", tt.err, err, tt.rpc)
		}
	}
}

// TestSplitH2C: HTTP/1.1 requests, however short and whatever their
// method, reach net/http at once; only the HTTP/2 preface goes to gRPC.
func TestSplitH2C(t *testing.T) {
	srv := serveAPI(t, &API{Registry: websocket.NewHub("gw")})
	for _, raw := range []string{"GET / HTTP/1.0\r\n\r\n", "PROPFIND / HTTP/1.1\r\nHost: x\r\n\r\n", "PRIX / HTTP/1.1\r\nHost: x\r\n\r\n"} {
		c, err := net.Dial("tcp", strings.TrimPrefix(srv.URL, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(2 * time.Second)) // the sniffing waits 10 s for bytes that never come
		io.WriteString(c, raw)
		res, err := http.ReadResponse(bufio.NewReader(c), nil)
		c.Close()
		if err != nil || res.StatusCode != 404 {
			t.Errorf("%q: %v %v, want net/http's 404", raw, res, err)
		}
	}
}
