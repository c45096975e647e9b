package gateway

import (
	"bytes"
	"encoding/hex"
	"errors"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"

	"github.com/apigw/apigw/internal/policy/cors"
	"github.com/apigw/apigw/internal/policy/schemamap"
)

// recorder remembers the status and byte count for the access log. It
// forwards Flush and exposes the original writer through Unwrap so that
// http.ResponseController (used by ReverseProxy) still reaches it.
//
// It is also where the response-side policies meet every integration, at
// the one moment they all share, the writing of the header: the status
// mapping, the CORS headers of actual responses and the release header.
type recorder struct {
	http.ResponseWriter
	status int
	bytes  int64

	statusMap map[int]int // x-yc-status-mapping of the operation
	cors      *cors.Rule  // the path's CORS rule, for a request with Origin
	origin    string
	canary    bool

	// A response that a schema mapping rewrites (respMap), or that the
	// validator checks (holdAll), is held whole until the integration is
	// done: holding, with its template (nil: none), body and status.
	respMap  mappings
	holdAll  bool
	holding  bool
	mapping  *schemamap.Template
	held     bytes.Buffer
	heldCode int

	// tap, when the console records, gets a copy of the body as it goes
	// out.
	tap io.Writer
}

// errHeldTooLarge stops an integration whose held response outgrows
// maxHeldResponse.
var errHeldTooLarge = errors.New("the response is larger than the 16 MiB a schema mapping or response validation holds")

// maxHeldResponse bounds the response held in memory for a schema mapping
// or a response validation.
const maxHeldResponse = 16 << 20

// hold starts holding a response, and reports whether it did.
func (r *recorder) hold(code int) bool {
	tpl := r.respMap.forResponse(code, r.ResponseWriter.Header().Get("Content-Type"))
	if tpl == nil && !r.holdAll {
		return false
	}
	r.holding, r.mapping, r.heldCode, r.status = true, tpl, code, code
	r.held.Reset()
	return true
}

// takeHeld ends holding and returns what was held; ok is false when
// nothing was. The recorder then writes as if nothing had been written.
func (r *recorder) takeHeld() (code int, tpl *schemamap.Template, body []byte, ok bool) {
	if !r.holding {
		return 0, nil, nil, false
	}
	r.holding, r.status, r.respMap, r.holdAll = false, 0, nil, false
	return r.heldCode, r.mapping, r.held.Bytes(), true
}

// writeHeld sends a held (and perhaps mapped) response.
func (r *recorder) writeHeld(code int, body []byte) {
	r.ResponseWriter.Header().Set("Content-Length", strconv.Itoa(len(body)))
	r.WriteHeader(code)
	r.Write(body)
}

// begin applies the response policies as the header goes out with code,
// and returns the status to send.
func (r *recorder) begin(code int) int {
	if to, ok := r.statusMap[code]; ok {
		code = to
	}
	r.status = code
	h := r.ResponseWriter.Header()
	if r.cors != nil {
		r.cors.Decorate(h, r.origin)
	}
	if r.canary {
		h.Set("X-Yc-Apigateway-Release", "canary")
	}
	return code
}

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 && code >= 200 {
		if (r.respMap != nil || r.holdAll) && r.hold(code) {
			return
		}
		code = r.begin(code)
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.WriteHeader(http.StatusOK)
	}
	if r.holding {
		if int64(r.held.Len())+int64(len(b)) > maxHeldResponse {
			return 0, errHeldTooLarge
		}
		return r.held.Write(b)
	}
	n, err := r.ResponseWriter.Write(b)
	r.bytes += int64(n)
	if r.tap != nil {
		r.tap.Write(b[:n])
	}
	return n, err
}

func (r *recorder) Flush() {
	if r.status == 0 {
		r.WriteHeader(http.StatusOK)
	}
	if r.holding {
		return // a held response goes out whole
	}
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// ReadFrom lets io.Copy reach net/http's own ReadFrom, which sends a file
// with sendfile(2): a directory bucket's objects then never pass through
// user space.
func (r *recorder) ReadFrom(src io.Reader) (int64, error) {
	if r.status == 0 {
		r.WriteHeader(http.StatusOK)
	}
	if r.holding || r.tap != nil { // (the console sees the bytes: no sendfile)
		return io.Copy(struct{ io.Writer }{r}, src)
	}
	var n int64
	var err error
	if rf, ok := r.ResponseWriter.(io.ReaderFrom); ok {
		n, err = rf.ReadFrom(src)
	} else {
		n, err = io.Copy(struct{ io.Writer }{r.ResponseWriter}, src)
	}
	r.bytes += n
	return n, err
}

// newUUID returns a random (version 4) UUID. Request IDs must be unique,
// not secret, so the runtime's fast ChaCha8 generator serves.
func newUUID() string {
	var b [16]byte
	hi, lo := rand.Uint64(), rand.Uint64()
	for i := 0; i < 8; i++ {
		b[i], b[8+i] = byte(hi>>(8*i)), byte(lo>>(8*i))
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var out [36]byte
	hex.Encode(out[0:8], b[0:4])
	out[8] = '-'
	hex.Encode(out[9:13], b[4:6])
	out[13] = '-'
	hex.Encode(out[14:18], b[6:8])
	out[18] = '-'
	hex.Encode(out[19:23], b[8:10])
	out[23] = '-'
	hex.Encode(out[24:], b[10:])
	return string(out[:])
}
