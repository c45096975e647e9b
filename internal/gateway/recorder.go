package gateway

import (
	"bytes"
	"encoding/hex"
	"errors"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"

	"github.com/apigw/apigw/internal/httperr"
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

	// respMap is the operation's response x-yc-schema-mapping; while a
	// mapped response is held, mapping is its template and held its body.
	respMap   mappings
	mapping   *schemamap.Template
	held      bytes.Buffer
	heldCode  int
	heldLimit int64
}

// maxMappedResponse bounds the response a schema mapping holds in memory.
const maxMappedResponse = 16 << 20

// hold starts holding a response that a schema mapping will rewrite, and
// reports whether it did.
func (r *recorder) hold(code int) bool {
	tpl := r.respMap.forResponse(code, r.ResponseWriter.Header().Get("Content-Type"))
	if tpl == nil {
		return false
	}
	r.mapping, r.heldCode, r.status = tpl, code, code
	r.held.Reset()
	return true
}

// release writes a held response through its mapping: 502 when the
// integration's body is not JSON (or too large to map).
func (r *recorder) release() {
	tpl := r.mapping
	if tpl == nil {
		return
	}
	r.mapping, r.status = nil, 0
	var out []byte
	err := errors.New("larger than 16 MiB")
	if int64(r.held.Len()) <= maxMappedResponse {
		out, err = tpl.Apply(r.held.Bytes())
	}
	if err != nil {
		httperr.Write(r, http.StatusBadGateway, "the integration's response cannot be mapped by x-yc-schema-mapping: "+err.Error())
		return
	}
	h := r.ResponseWriter.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(out)))
	r.ResponseWriter.WriteHeader(r.begin(r.heldCode))
	n, _ := r.ResponseWriter.Write(out)
	r.bytes += int64(n)
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
		if r.respMap != nil && r.hold(code) {
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
	if r.mapping != nil {
		if int64(r.held.Len())+int64(len(b)) > maxMappedResponse+1 {
			return 0, errors.New("the response is too large for x-yc-schema-mapping")
		}
		return r.held.Write(b)
	}
	n, err := r.ResponseWriter.Write(b)
	r.bytes += int64(n)
	return n, err
}

func (r *recorder) Flush() {
	if r.status == 0 {
		r.WriteHeader(http.StatusOK)
	}
	if r.mapping != nil {
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
	if r.mapping != nil {
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
