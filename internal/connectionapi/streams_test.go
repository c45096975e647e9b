package connectionapi

import (
	"bytes"
	"crypto/tls"
	"net"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"github.com/apigw/apigw/internal/websocket"
)

// rawH2 opens an HTTP/2 connection to srv (h2c, or TLS with ALPN h2) and
// exchanges the settings: the server's are returned.
func rawH2(t *testing.T, addr string, useTLS bool) (*http2.Framer, net.Conn, map[http2.SettingID]uint32) {
	t.Helper()
	var c net.Conn
	var err error
	if useTLS {
		c, err = tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"h2"}})
	} else {
		c, err = net.Dial("tcp", addr)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(20 * time.Second))
	c.Write([]byte(http2.ClientPreface))
	fr := http2.NewFramer(c, c)
	fr.WriteSettings()
	settings := map[http2.SettingID]uint32{}
	for {
		f, err := fr.ReadFrame()
		if err != nil {
			t.Fatal(err)
		}
		if sf, ok := f.(*http2.SettingsFrame); ok && !sf.IsAck() {
			sf.ForeachSetting(func(s http2.Setting) error { settings[s.ID] = s.Val; return nil })
			fr.WriteSettingsAck()
			return fr, c, settings
		}
	}
}

// openCall sends the headers of a Get call, and no message.
func openCall(t *testing.T, fr *http2.Framer, id uint32, auth string) {
	t.Helper()
	var hb bytes.Buffer
	enc := hpack.NewEncoder(&hb)
	for _, kv := range [][2]string{{":method", "POST"}, {":scheme", "http"}, {":path", "/yandex.cloud.serverless.apigateway.websocket.v1.ConnectionService/Get"},
		{":authority", "x"}, {"content-type", "application/grpc"}, {"te", "trailers"}} {
		enc.WriteField(hpack.HeaderField{Name: kv[0], Value: kv[1]})
	}
	if auth != "" {
		enc.WriteField(hpack.HeaderField{Name: "authorization", Value: auth})
	}
	if err := fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: hb.Bytes(), EndHeaders: true}); err != nil {
		t.Fatal(err)
	}
}

// A call without the token is answered from its headers, before its
// message is read, on both transports; one connection holds at most
// MaxStreams calls (one opened 33,000 before any token check).
func TestStreamsAreCheckedAndBounded(t *testing.T) {
	for _, tc := range []struct {
		name  string
		tls   bool
		serve func(testing.TB, *API) *httptest.Server
	}{{"h2c", false, serveAPI}, {"TLS", true, serveAPIOverTLS}} {
		t.Run(tc.name, func(t *testing.T) {
			api := &API{Registry: websocket.NewHub("gw"), Authorize: AdminAccess(func() string { return "s3cret" })}
			srv := tc.serve(t, api)
			addr := strings.TrimPrefix(strings.TrimPrefix(srv.URL, "http://"), "https://")
			fr, _, settings := rawH2(t, addr, tc.tls)
			if !tc.tls && settings[http2.SettingMaxConcurrentStreams] != MaxStreams {
				t.Errorf("MAX_CONCURRENT_STREAMS %d, want %d", settings[http2.SettingMaxConcurrentStreams], MaxStreams)
			}
			// 300 (200) calls without the token, none sending its message:
			// each is answered Unauthenticated at once (or refused, past
			// the server's stream limit), none left waiting.
			answered := map[uint32]bool{}
			calls := uint32(300)
			if tc.tls {
				calls = 200 // net/http's own limit is 250 streams
			}
			for i := range calls {
				openCall(t, fr, 2*i+1, "")
			}
			dec := hpack.NewDecoder(4096, nil)
			for uint32(len(answered)) < calls {
				f, err := fr.ReadFrame()
				if err != nil {
					t.Fatalf("after %d answers: %v", len(answered), err)
				}
				if rst, ok := f.(*http2.RSTStreamFrame); ok && rst.ErrCode == http2.ErrCodeRefusedStream {
					answered[rst.StreamID] = true // past the server's own stream limit: refused, not waiting either
				}
				if h, ok := f.(*http2.HeadersFrame); ok {
					fields, _ := dec.DecodeFull(h.HeaderBlockFragment())
					for _, hf := range fields {
						if hf.Name == "grpc-status" && hf.Value == "16" {
							answered[h.StreamID] = true
						}
					}
				}
			}
			if tc.tls {
				return
			}
			// With the token, calls that never send their message stay
			// open: past MaxStreams the next is refused.
			fr2, _, _ := rawH2(t, addr, false)
			for i := range uint32(MaxStreams + 1) {
				openCall(t, fr2, 2*i+1, "Bearer s3cret")
			}
			for {
				f, err := fr2.ReadFrame()
				if err != nil {
					t.Fatalf("no stream was refused: %v", err)
				}
				if rst, ok := f.(*http2.RSTStreamFrame); ok {
					if rst.ErrCode != http2.ErrCodeRefusedStream || rst.StreamID != 2*MaxStreams+1 {
						t.Errorf("stream %d reset with %v", rst.StreamID, rst.ErrCode)
					}
					return
				}
			}
		})
	}
}
