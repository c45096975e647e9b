package security

import (
	"bytes"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/netip"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/apigw/apigw/internal/config"
	coreruleset "github.com/corazawaf/coraza-coreruleset/v4"
	"github.com/corazawaf/coraza/v3"
	"github.com/corazawaf/coraza/v3/types"
)

// wafEngine is one WAF profile: the OWASP Core Rule Set compiled by Coraza
// once (shared by every request and, through wafCache, by the snapshots
// that keep the same profile), with the profile's blocking rules and
// exclusions.
type wafEngine struct {
	waf coraza.WAF
	// slots bounds the inspections running at once (one per CPU): CRS on
	// Go's RE2 costs 0.5 ms for a GET and tens of ms for a large form, so
	// a flood of them must queue for the CPUs, not take them from every
	// other request; one that waits longer than wafQueueTimeout is
	// decided by sws.fallback instead of piling up.
	slots     chan struct{}
	blocking  map[int]bool
	bodyLimit int64 // bytes of a body inspected (0: none)
	bodyDeny  bool  // a body over the limit is denied
	excl      []wafExclusion
}

type wafExclusion struct {
	name   string
	all    bool
	ids    []int
	checks []check
}

// wafQueueTimeout is how long a request waits for an inspection slot.
const wafQueueTimeout = 2 * time.Second

// wafVerdict is what the WAF found in a request.
type wafVerdict struct {
	attack bool
	// overloaded: no slot freed within wafQueueTimeout; not inspected.
	overloaded bool
	rules      []int // the CRS detection rules that matched
	reason     string
	// matched is every rule that matched, CRS's bookkeeping included
	// (for the regression suite).
	matched []int
}

// wafDirectives is the Coraza configuration of a profile: CRS with its
// paranoia level and anomaly threshold; rules a profile disables removed.
func wafDirectives(w *config.WafProfile) (string, int64) {
	crs, _ := w.CRS()
	pl, threshold := int64(1), int64(5)
	if crs != nil {
		if crs.ParanoiaLevel > 0 {
			pl = int64(crs.ParanoiaLevel)
		}
		if crs.InboundAnomalyScore > 0 {
			threshold = int64(crs.InboundAnomalyScore)
		}
	}
	var limit int64 = 128 * 1024 // the cloud's default inspection size
	if a := w.AnalyzeRequestBody; a != nil && a.SizeLimit > 0 {
		limit = int64(a.SizeLimit) * 1024
	}
	var b strings.Builder
	b.WriteString("Include @coraza.conf-recommended\n")
	b.WriteString("SecRuleEngine On\nSecRequestBodyAccess On\nSecResponseBodyAccess Off\n")
	// apigw hands Coraza at most limit bytes of a body it parses (see
	// inspect); Coraza keeps them in memory, never in a temporary file.
	fmt.Fprintf(&b, "SecRequestBodyLimit %d\nSecRequestBodyInMemoryLimit %d\nSecRequestBodyLimitAction ProcessPartial\n", limit, limit)
	b.WriteString("SecAuditEngine Off\n")
	b.WriteString("Include @crs-setup.conf.example\n")
	fmt.Fprintf(&b, "SecAction \"id:900000,phase:1,pass,t:none,nolog,setvar:tx.blocking_paranoia_level=%d\"\n", pl)
	// An API gateway's traffic, not a web site's: CRS's defaults refuse
	// PUT, PATCH and DELETE (911100) and binary uploads (920420).
	b.WriteString("SecAction \"id:900200,phase:1,pass,t:none,nolog,setvar:'tx.allowed_methods=GET HEAD POST OPTIONS PUT PATCH DELETE'\"\n")
	b.WriteString("SecAction \"id:900220,phase:1,pass,t:none,nolog,setvar:'tx.allowed_request_content_type=|application/x-www-form-urlencoded| |multipart/form-data| |text/xml| |application/xml| |application/soap+xml| |application/json| |application/octet-stream| |text/plain|'\"\n")
	b.WriteString("SecAction \"id:900010,phase:1,pass,t:none,nolog,setvar:tx.enforce_bodyproc_urlencoded=1\"\n")
	fmt.Fprintf(&b, "SecAction \"id:900110,phase:1,pass,t:none,nolog,setvar:tx.inbound_anomaly_score_threshold=%d,setvar:tx.outbound_anomaly_score_threshold=4\"\n", threshold)
	b.WriteString("Include @owasp_crs/*.conf\n")
	var off []int
	for _, r := range w.Rules {
		if id, ok := config.CRSRuleID(r.RuleID); ok && !r.IsEnabled {
			off = append(off, id)
		}
	}
	sort.Ints(off)
	for _, id := range off {
		fmt.Fprintf(&b, "SecRuleRemoveById %d\n", id)
	}
	return b.String(), limit
}

// wafCache keeps compiled profiles by their directives: a reload that
// keeps a profile reuses it (compiling CRS takes a second and tens of
// MB), and at most wafCacheSize are kept, so reloads that change profiles
// do not grow memory.
var wafCache = struct {
	sync.Mutex
	m     map[string]coraza.WAF
	order []string
}{m: map[string]coraza.WAF{}}

const wafCacheSize = 8

func compileWAF(directives string) (coraza.WAF, error) {
	wafCache.Lock()
	defer wafCache.Unlock()
	if w, ok := wafCache.m[directives]; ok {
		return w, nil
	}
	w, err := coraza.NewWAF(coraza.NewWAFConfig().WithRootFS(coreruleset.FS).WithDirectives(directives))
	if err != nil {
		return nil, err
	}
	wafCache.m[directives] = w
	wafCache.order = append(wafCache.order, directives)
	if len(wafCache.order) > wafCacheSize {
		delete(wafCache.m, wafCache.order[0])
		wafCache.order = wafCache.order[1:]
	}
	return w, nil
}

func newWAFEngine(w *config.WafProfile, env condEnv) (*wafEngine, error) {
	directives, limit := wafDirectives(w)
	cw, err := compileWAF(directives)
	if err != nil {
		return nil, fmt.Errorf("the WAF profile does not compile: %w", err)
	}
	e := &wafEngine{waf: cw, blocking: map[int]bool{}, bodyLimit: limit, slots: make(chan struct{}, runtime.GOMAXPROCS(0))}
	if a := w.AnalyzeRequestBody; a != nil {
		if !a.IsEnabled && a.SizeLimit == 0 {
			e.bodyLimit = 0
		}
		e.bodyDeny = a.SizeLimitAction == "DENY"
	}
	for _, r := range w.Rules {
		if id, ok := config.CRSRuleID(r.RuleID); ok && r.IsEnabled && r.IsBlocking {
			e.blocking[id] = true
		}
	}
	for _, x := range w.ExclusionRules {
		ex := wafExclusion{name: x.Name, all: x.ExcludeRules.ExcludeAll}
		for _, s := range x.ExcludeRules.RuleIDs {
			if id, ok := config.CRSRuleID(s); ok {
				ex.ids = append(ex.ids, id)
			}
		}
		// An exclusion's undecidable condition part (geo without a
		// database) does not exclude: inspection is the safe side.
		if ex.checks, err = compileCondition(x.Condition, env); err != nil {
			return nil, err
		}
		e.excl = append(e.excl, ex)
	}
	return e, nil
}

// parsedBody says whether the WAF parses a body of this type; any other
// body is never read by the WAF (nor buffered for it).
func parsedBody(ct string) bool {
	if strings.TrimSpace(ct) == "" {
		// No type: parsed as a form (CRS's enforce_bodyproc_urlencoded),
		// or omitting the header would take a body past the WAF to a
		// backend that parses it anyway.
		return true
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return false
	}
	switch {
	case mt == "application/x-www-form-urlencoded", mt == "multipart/form-data", mt == "application/json",
		mt == "text/xml", mt == "application/xml", strings.HasSuffix(mt, "+json"), strings.HasSuffix(mt, "+xml"):
		return true
	}
	return false
}

type rereadBody struct {
	io.Reader
	io.Closer
}

// inspect runs a request through the WAF. A body it parses is read up to
// the profile's limit and put back in front of the rest, so the backend
// gets it whole; what is beyond the limit is never buffered.
func (e *wafEngine) inspect(r *http.Request, ip netip.Addr) wafVerdict {
	var skip []int
	for _, x := range e.excl {
		matched := true
		for _, c := range x.checks {
			if !c(r, ip) {
				matched = false
				break
			}
		}
		if !matched {
			continue
		}
		if x.all {
			return wafVerdict{}
		}
		skip = append(skip, x.ids...)
	}
	select {
	case e.slots <- struct{}{}:
	default:
		t := time.NewTimer(wafQueueTimeout)
		select {
		case e.slots <- struct{}{}:
			t.Stop()
		case <-t.C:
			return wafVerdict{overloaded: true, reason: "the WAF is overloaded"}
		case <-r.Context().Done():
			t.Stop()
			return wafVerdict{overloaded: true, reason: "the client left while waiting for the WAF"}
		}
	}
	defer func() { <-e.slots }()
	tx := e.waf.NewTransaction()
	defer func() {
		tx.ProcessLogging()
		tx.Close()
	}()
	if rm, ok := tx.(interface{ RemoveRuleByID(int) }); ok {
		for _, id := range skip {
			rm.RemoveRuleByID(id)
		}
	}
	host, port, _ := net.SplitHostPort(r.RemoteAddr)
	p, _ := strconv.Atoi(port)
	tx.ProcessConnection(host, p, "", 0)
	uri := r.RequestURI // as the client sent it, as CRS expects
	if uri == "" {
		uri = r.URL.RequestURI()
	}
	tx.ProcessURI(uri, r.Method, r.Proto)
	for k, vs := range r.Header {
		for _, v := range vs {
			tx.AddRequestHeader(k, v)
		}
	}
	if r.Host != "" {
		tx.AddRequestHeader("Host", r.Host)
		tx.SetServerName(r.Host)
	}
	if it := tx.ProcessRequestHeaders(); it != nil {
		return e.verdict(tx, it)
	}
	if e.bodyLimit > 0 && r.Body != nil && r.Body != http.NoBody && parsedBody(r.Header.Get("Content-Type")) {
		buf, err := io.ReadAll(io.LimitReader(r.Body, e.bodyLimit+1))
		r.Body = rereadBody{io.MultiReader(bytes.NewReader(buf), r.Body), r.Body}
		if err == nil {
			if int64(len(buf)) > e.bodyLimit {
				if e.bodyDeny {
					return wafVerdict{attack: true, reason: "the body is larger than the WAF profile's analyze_request_body.size_limit"}
				}
				buf = buf[:e.bodyLimit]
			}
			if it, _, _ := tx.WriteRequestBody(buf); it != nil {
				return e.verdict(tx, it)
			}
			if it, _ := tx.ProcessRequestBody(); it != nil {
				return e.verdict(tx, it)
			}
		}
	} else if it, _ := tx.ProcessRequestBody(); it != nil { // phase 2 rules run without a body too
		return e.verdict(tx, it)
	}
	return e.verdict(tx, nil)
}

func (e *wafEngine) verdict(tx types.Transaction, it *types.Interruption) wafVerdict {
	v := wafVerdict{attack: it != nil}
	if it != nil {
		v.reason = fmt.Sprintf("the inbound anomaly score reached the threshold (rule %d)", it.RuleID)
	}
	for _, m := range tx.MatchedRules() {
		id := m.Rule().ID()
		v.matched = append(v.matched, id)
		if m.Message() != "" && id >= 910000 && id < 949000 || e.blocking[id] { // detections, not CRS's paranoia-level bookkeeping
			v.rules = append(v.rules, id)
		}
		if e.blocking[id] && !v.attack {
			v.attack, v.reason = true, fmt.Sprintf("rule %d is blocking", id)
		}
	}
	return v
}
