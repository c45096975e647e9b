// Package config reads the bindings file (apigw.yaml): what the cloud keeps
// outside the spec (variable values, limits, listeners) and what it resolves by
// ID (functions, containers, buckets, queues, streams, tables), mapped to
// endpoints a self-hosted gateway can reach. Unknown keys are errors with their
// line: a typo never silently becomes a default.
package config

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/apigw/apigw/internal/yamlx"
	"go.yaml.in/yaml/v3"
)

// Defaults from the cloud's documented limits (digest §7).
const (
	DefaultListen           = ":8080"
	DefaultAdmin            = "127.0.0.1:9090"
	DefaultMaxBody          = 2*1024*1024 + 512*1024 // 2.5 MB
	DefaultExecutionTimeout = 300 * time.Second
	DefaultShutdownTimeout  = 30 * time.Second
	DefaultDrainDelay       = 5 * time.Second
	DefaultMappingTimeout   = time.Second
	DefaultGatewayID        = "apigw"
)

// Bindings is the parsed bindings file.
type Bindings struct {
	File string `yaml:"-"`
	// SpecOnly: no bindings file was given to validate or routes, so the
	// spec is checked alone and IDs it leaves unbound are not errors.
	SpecOnly bool `yaml:"-"`
	// Mock answers every operation whose target (a function, container,
	// bucket, queue, stream, table or DataSphere node) is not bound from
	// the responses the spec declares (apigw serve --mock; docs/mock.md).
	Mock bool `yaml:"mock"`
	// Mocked holds the function and container bindings written as
	// {mock: true}, as "functions/<key>" and "containers/<key>": they are
	// taken out of Functions and Containers when the file is read.
	Mocked map[string]bool `yaml:"-"`
	Listen string          `yaml:"listen"`
	Admin  string          `yaml:"admin"`
	// AdminTLS serves the admin listener over HTTPS.
	AdminTLS AdminTLS `yaml:"admin_tls"`
	// AdminHosts are host names the admin listener answers to without a
	// token, besides loopback names and IP addresses (a name others can
	// point at 127.0.0.1 is refused: DNS rebinding).
	AdminHosts []string `yaml:"admin_hosts"`
	// Console is the developer console on the admin listener.
	Console   Console `yaml:"console"`
	GatewayID string  `yaml:"gateway_id"`
	// MetricsToken, when set, guards /metrics on the admin listener
	// (Authorization: Bearer); else websocket.management_token does, when
	// set. /debug/pprof/ needs the management token when there is one.
	MetricsToken string               `yaml:"metrics_token"`
	Variables    map[string]yaml.Node `yaml:"variables"`
	Limits       Limits               `yaml:"limits"`
	Routing      Routing              `yaml:"routing"`
	Log          Log                  `yaml:"log"`
	Reload       Reload               `yaml:"reload"`
	// YDB binds cloud_ydb databases to DynamoDB-compatible endpoints.
	YDB map[string]*YDB `yaml:"ydb"`
	// Streams binds cloud_datastreams stream names to Kinesis-compatible endpoints.
	Streams map[string]*Stream `yaml:"streams"`
	// Queues binds cloud_ymq queue URLs to SQS-compatible endpoints.
	Queues map[string]*Queue `yaml:"queues"`
	// ObjectStorage binds buckets (object_storage).
	ObjectStorage ObjectStorage `yaml:"object_storage"`
	// Redis, when set, shares WebSocket connections and rate limits
	// between replicas.
	Redis Redis `yaml:"redis"`
	// Canary, when set, serves a share of requests with other variable
	// values (digest §5.4); the cloud keeps it outside the spec too.
	Canary *Canary `yaml:"canary"`
	// SecurityProfiles stand in for Smart Web Security profiles, by the
	// spec's securityProfileId (or "default").
	SecurityProfiles map[string]*SecurityProfile `yaml:"security_profiles"`
	// WafProfiles are the cloud's WAF profiles (OWASP CRS through Coraza),
	// by the waf_profile_id security rules name.
	WafProfiles map[string]*WafProfile `yaml:"waf_profiles"`
	// ARLProfiles are the cloud's advanced rate limiter profiles, by the
	// advanced_rate_limiter_profile_id security profiles name.
	ARLProfiles map[string]*ARLProfile `yaml:"advanced_rate_limiter_profiles"`
	// MatchLists are the cloud's custom match lists, by the ID profiles
	// name them with (lists_matchers, ip_lists_match).
	MatchLists map[string]*MatchList `yaml:"match_lists"`
	// CustomPages are what a DENY answers, by custom_page_id.
	CustomPages map[string]*CustomPage `yaml:"custom_pages"`
	// GeoIP holds the databases of geo and ASN conditions.
	GeoIP GeoIP `yaml:"geoip"`
	// SWS sets how cloud profiles are applied where the cloud decides
	// with what apigw does not have.
	SWS SWS `yaml:"sws"`
	// WebSocket sets the WebSocket limits and the management API's access.
	WebSocket WebSocket `yaml:"websocket"`
	// Auth tunes the authorizers where the documentation leaves a choice.
	Auth Auth `yaml:"auth"`
	// ServiceAccounts binds the service accounts the spec names to their
	// keys: the integrations and authorizers that name one call with its
	// IAM token.
	ServiceAccounts map[string]*ServiceAccount `yaml:"service_accounts"`
	// Functions binds function IDs (cloud_functions, function authorizers)
	// to where they run; see Function. The key "default" catches the rest.
	Functions map[string]*Function `yaml:"functions"`
	// Containers binds container IDs (serverless_containers) to URLs.
	Containers map[string]*Container `yaml:"containers"`
	// DataSphere binds DataSphere node IDs (cloud_datasphere) to URLs.
	DataSphere map[string]*Endpoint `yaml:"datasphere"`
	// TLS is the HTTPS listener; Domains map hosts to specs and
	// certificates.
	TLS     TLS       `yaml:"tls"`
	Domains []*Domain `yaml:"domains"`
	// Tracing exports OpenTelemetry traces (read at start).
	Tracing Tracing `yaml:"tracing"`
	// ControlPlane serves the cloud's API Gateway API: gateways created
	// through it are served beside --spec and domains.
	ControlPlane ControlPlane `yaml:"control_plane"`
	// Certificates stand in for Certificate Manager: the certificates
	// that domains attached through the control plane are served with,
	// by certificate ID.
	Certificates map[string]*Certificate `yaml:"certificates"`
}

// Limits bound what one request may cost.
type Limits struct {
	// MaxRequestBody is the largest request body (413 beyond).
	MaxRequestBody Size `yaml:"max_request_body"`
	// MaxResponseBody is the largest answer of an integration that must
	// buffer it (a function's response JSON); 502 beyond. Streamed bodies
	// (http) are not limited.
	MaxResponseBody Size `yaml:"max_response_body"`
	// ExecutionTimeout bounds a whole gateway call (504 beyond); 0 disables.
	ExecutionTimeout *Duration `yaml:"execution_timeout"`
	// ShutdownTimeout is how long SIGTERM waits for in-flight requests.
	ShutdownTimeout *Duration `yaml:"shutdown_timeout"`
	// DrainDelay is how long, after SIGTERM, the listeners keep accepting
	// (with /readyz at 503 and Connection: close on every answer) before
	// the drain: a load balancer has that long to stop sending (default
	// 5s; SIGINT skips it).
	DrainDelay *Duration `yaml:"drain_delay"`
	// MaxRateLimitBuckets bounds the in-process rate-limit buckets (one per
	// client of a security profile's limit): the least recently used go
	// first (default 50,000, about 5 MB).
	MaxRateLimitBuckets int `yaml:"max_rate_limit_buckets"`
	// MappingTimeout bounds the jq programs of one schema mapping of one
	// body (default 1s); past it the mapping fails with a 500.
	MappingTimeout *Duration `yaml:"mapping_timeout"`
	// MaxConnections caps the client connections of the API listeners
	// (default: half of the open-file limit less a reserve for files and
	// the admin listener, as each may hold an upstream call; read at start).
	MaxConnections int `yaml:"max_connections"`
}

// Canary is a canary release: Weight percent of requests (of WebSocket
// connections) are served by the spec built with Variables over the
// stable values.
type Canary struct {
	Weight    int                  `yaml:"weight"`
	Variables map[string]yaml.Node `yaml:"variables"`
	// Override lets a request choose its release with the header
	// X-Apigw-Release or the cookie apigw-release (canary or stable): for
	// testing a canary before it takes traffic. Off by default.
	Override bool `yaml:"override"`
}

// CanaryValues returns the canary's variable values as strings.
func (c *Canary) CanaryValues() map[string]string {
	out := make(map[string]string, len(c.Variables))
	for k, v := range c.Variables {
		out[k] = v.Value
	}
	return out
}

// Redis is the shared state of several replicas: one node (URL), a
// Sentinel-watched master (MasterName with the Sentinels in Addrs), or a
// cluster (its nodes in Addrs).
type Redis struct {
	URL              string    `yaml:"url"`   // redis:// or rediss:// (TLS), [user:password@]host:port/db
	Addrs            []string  `yaml:"addrs"` // a cluster's seed nodes, or the Sentinels (with master_name)
	MasterName       string    `yaml:"master_name"`
	SentinelPassword string    `yaml:"sentinel_password"`
	Prefix           string    `yaml:"prefix"`  // key and channel prefix, default "apigw:"
	Timeout          *Duration `yaml:"timeout"` // every call (default 500ms)
}

// Enabled reports whether Redis is configured.
func (r *Redis) Enabled() bool { return r.URL != "" || len(r.Addrs) > 0 }

// WebSocket configures WebSocket connections (defaults: the cloud's limits).
type WebSocket struct {
	MaxFrame   Size      `yaml:"max_frame"`   // 32KB; 1009 beyond
	MaxMessage Size      `yaml:"max_message"` // 128KB; 1009 beyond
	Idle       *Duration `yaml:"idle_timeout"`
	Lifetime   *Duration `yaml:"lifetime"`
	// MaxQueued bounds the bytes waiting to be written to one client
	// (default 1MB): a Send beyond answers "queue full" at once.
	MaxQueued Size `yaml:"max_queued"`
	// WriteTimeout bounds one write to a client, and how long its queue
	// may stay full, before the connection is closed (default 10s).
	WriteTimeout *Duration `yaml:"write_timeout"`
	// MaxConnections and MaxConnectionsPerIP cap open WebSocket
	// connections, in all and per client address (defaults: three
	// quarters of limits.max_connections, and a tenth of that; read at
	// start). An upgrade beyond gets 503 with Retry-After.
	MaxConnections      int `yaml:"max_connections"`
	MaxConnectionsPerIP int `yaml:"max_connections_per_ip"`
	// PushOnly accepts upgrades on paths with only a connect operation
	// (client messages are dropped there), as Yandex's own examples use;
	// false refuses them, strictly per the documentation. Default true.
	PushOnly *bool `yaml:"push_only"`
	// ManagementToken guards the connection management API on the admin
	// listener (Authorization: Bearer <token>); without one only loopback
	// callers are served.
	ManagementToken string `yaml:"management_token"`
	// InterceptCloudAPI sends the calls that apigw's own function
	// processes (runtime and command bindings) make to the cloud's
	// connection API, https://apigateway-connections.api.cloud.yandex.net,
	// to this gateway's management API instead (docs/functions.md).
	// Default true.
	InterceptCloudAPI *bool `yaml:"intercept_cloud_api"`
}

// Console configures the developer console (/console/ on the admin
// listener; docs/console.md). Read at start.
type Console struct {
	// Enabled: by default the console is on when the admin listener is
	// loopback-only, and off otherwise; true turns it on anywhere (then
	// Token is required), false turns it off.
	Enabled *bool  `yaml:"enabled"`
	Token   string `yaml:"token"`
	// Entries is how many exchanges the console keeps (default 500), and
	// MaxBody how much of each body (default 64KB).
	Entries int  `yaml:"entries"`
	MaxBody Size `yaml:"max_body"`
	// RedactHeaders are masked besides Authorization, Cookie, Set-Cookie
	// and X-YaCloud-SubjectToken; ShowSecrets shows them all.
	RedactHeaders []string `yaml:"redact_headers"`
	ShowSecrets   bool     `yaml:"show_secrets"`
}

// On reports whether the console runs for an admin listener at addr.
func (c *Console) On(addr string) bool {
	if c.Enabled != nil {
		return *c.Enabled
	}
	return LoopbackOnly(addr)
}

// LoopbackOnly reports whether an address (host:port, or a host alone)
// names loopback only: a loopback IP, or localhost.
func LoopbackOnly(addr string) bool {
	host := addr
	if h, _, err := net.SplitHostPort(addr); err == nil {
		host = h
	}
	host = strings.Trim(host, "[]")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Auth holds the authorizer choices the documentation leaves open.
type Auth struct {
	// JWTInvalidTokenStatus answers a token that fails verification (bad
	// signature, expired, wrong issuer...): 401 (default) or 403, the
	// strict reading of the documentation's algorithm section.
	JWTInvalidTokenStatus int `yaml:"jwt_invalid_token_status"`
	// JWTLeeway is the clock skew allowed on exp, nbf and iat (default 30s).
	JWTLeeway *Duration `yaml:"jwt_leeway"`
	// JWKSDefaultTTL caches keys when a scheme sets no jwkTtlInSeconds
	// (default 5m): fetching the JWKS on every request would make the
	// identity provider a dependency of every request.
	JWKSDefaultTTL *Duration `yaml:"jwks_default_ttl"`
	// JWKSMinRefresh is the shortest time between two fetches of one JWKS
	// (default 10s): tokens with unknown key IDs cannot flood the provider.
	JWKSMinRefresh *Duration `yaml:"jwks_min_refresh"`
	// JWKSFetchTimeout bounds one fetch of a JWKS or discovery document
	// (default 5s): tokens that must wait for it wait no longer.
	JWKSFetchTimeout *Duration `yaml:"jwks_fetch_timeout"`
}

// Routing holds the routing choices the documentation leaves open.
type Routing struct {
	// MethodNotAllowed is the status for a path that matched without the
	// method: 405 (with Allow, the default) or 404.
	MethodNotAllowed int `yaml:"method_not_allowed"`
	// UnknownHost is what a request whose Host no domain serves gets,
	// when domains are bound: "reject" (404, the default) or "default"
	// (the --spec).
	UnknownHost string `yaml:"unknown_host"`
}

// Log configures logging.
type Log struct {
	Level  string `yaml:"level"` // debug, info, warn, error
	Access *bool  `yaml:"access"`
}

// Reload configures hot reload.
type Reload struct {
	// Watch polls the spec and bindings files for changes (default true).
	Watch *bool `yaml:"watch"`
	// Interval between polls (default 1s).
	Interval *Duration `yaml:"interval"`
}

// Default returns the bindings used when no file is given.
func Default() *Bindings {
	b := &Bindings{}
	b.applyDefaults()
	return b
}

func (b *Bindings) applyDefaults() {
	if b.Listen == "" {
		b.Listen = DefaultListen
	}
	if b.Admin == "" {
		b.Admin = DefaultAdmin
	}
	if b.GatewayID == "" {
		b.GatewayID = DefaultGatewayID
	}
	if b.Limits.MaxRequestBody == 0 {
		b.Limits.MaxRequestBody = DefaultMaxBody
	}
	if b.Limits.MaxResponseBody == 0 {
		b.Limits.MaxResponseBody = DefaultMaxBody
	}
	if b.Limits.ExecutionTimeout == nil {
		d := Duration(DefaultExecutionTimeout)
		b.Limits.ExecutionTimeout = &d
	}
	if b.Limits.MappingTimeout == nil {
		d := Duration(DefaultMappingTimeout)
		b.Limits.MappingTimeout = &d
	}
	if b.Limits.DrainDelay == nil {
		d := Duration(DefaultDrainDelay)
		b.Limits.DrainDelay = &d
	}
	if b.Limits.ShutdownTimeout == nil {
		d := Duration(DefaultShutdownTimeout)
		b.Limits.ShutdownTimeout = &d
	}
	if b.WebSocket.MaxFrame == 0 {
		b.WebSocket.MaxFrame = 32 << 10
	}
	if b.WebSocket.MaxMessage == 0 {
		b.WebSocket.MaxMessage = 128 << 10
	}
	if b.WebSocket.Idle == nil {
		d := Duration(10 * time.Minute)
		b.WebSocket.Idle = &d
	}
	if b.WebSocket.Lifetime == nil {
		d := Duration(60 * time.Minute)
		b.WebSocket.Lifetime = &d
	}
	if b.WebSocket.InterceptCloudAPI == nil {
		t := true
		b.WebSocket.InterceptCloudAPI = &t
	}
	if b.WebSocket.PushOnly == nil {
		t := true
		b.WebSocket.PushOnly = &t
	}
	if b.Auth.JWTInvalidTokenStatus == 0 {
		b.Auth.JWTInvalidTokenStatus = 401
	}
	for _, d := range []struct {
		p   **Duration
		def time.Duration
	}{{&b.Auth.JWTLeeway, 30 * time.Second}, {&b.Auth.JWKSDefaultTTL, 5 * time.Minute}, {&b.Auth.JWKSMinRefresh, 10 * time.Second}, {&b.Auth.JWKSFetchTimeout, 5 * time.Second}} {
		if *d.p == nil {
			v := Duration(d.def)
			*d.p = &v
		}
	}
	if b.Routing.MethodNotAllowed == 0 {
		b.Routing.MethodNotAllowed = 405
	}
	if b.Log.Level == "" {
		b.Log.Level = "info"
	}
	if b.Log.Access == nil {
		t := true
		b.Log.Access = &t
	}
	if b.Reload.Watch == nil {
		t := true
		b.Reload.Watch = &t
	}
	if b.Reload.Interval == nil {
		d := Duration(time.Second)
		b.Reload.Interval = &d
	}
	b.ControlPlane.applyDefaults()
}

// LoadFile reads a bindings file; an empty name gives the defaults.
func LoadFile(file string) (*Bindings, yamlx.List) {
	if file == "" {
		return Default(), nil
	}
	src, err := os.ReadFile(file)
	if err != nil {
		return nil, yamlx.List{{File: file, Msg: err.Error()}}
	}
	b, errs := Parse(src)
	errs.SetFile(file)
	if errs.Err() != nil {
		return nil, errs
	}
	b.File = file
	resolveDirs(b.Functions, file)
	if derrs := checkDirs(b.Functions); len(derrs) > 0 {
		derrs.SetFile(file)
		return nil, append(errs, derrs...)
	}
	resolveBucketDirs(&b.ObjectStorage, file)
	resolveDomainFiles(b, file)
	for _, q := range b.Queues {
		q.resolve(filepath.Dir(file))
	}
	for _, s := range b.Streams {
		s.resolve(filepath.Dir(file))
	}
	for _, y := range b.YDB {
		y.resolve(filepath.Dir(file))
	}
	for _, sa := range b.ServiceAccounts {
		sa.resolve(filepath.Dir(file))
	}
	return b, errs
}

// Parse parses bindings from YAML.
func Parse(src []byte) (*Bindings, yamlx.List) {
	var errs yamlx.List
	var top yaml.Node
	if err := yaml.Unmarshal(src, &top); err != nil {
		errs.Errorf(nil, "", "%s", strings.TrimPrefix(err.Error(), "yaml: "))
		return nil, errs
	}
	b := &Bindings{}
	root := yamlx.Deref(&top)
	if root != nil && root.Kind != 0 && !(root.Kind == yaml.ScalarNode && root.ShortTag() == "!!null") {
		if root.Kind != yaml.MappingNode {
			errs.Errorf(root, "", "the bindings file must be a mapping, got %s", yamlx.KindName(root))
			return nil, errs
		}
		// Profiles pasted from Terraform: its block names and one-element
		// lists become the proto's shape first.
		for i := 1; i < len(root.Content); i += 2 {
			switch root.Content[i-1].Value {
			case "security_profiles":
				root.Content[i] = yamlx.Normalize(root.Content[i], reflect.TypeFor[map[string]*SecurityProfile](), swsRenames)
			case "waf_profiles":
				root.Content[i] = yamlx.Normalize(root.Content[i], reflect.TypeFor[map[string]*WafProfile](), swsRenames)
			case "advanced_rate_limiter_profiles":
				root.Content[i] = yamlx.Normalize(root.Content[i], reflect.TypeFor[map[string]*ARLProfile](), swsRenames)
			}
		}
		if e := yamlx.Decode(root, b, ""); len(e) > 0 {
			return nil, e
		}
	}
	for name, v := range b.Variables {
		if v.Kind != yaml.ScalarNode {
			errs.Errorf(&v, "variables."+name, "a variable value must be a string, number or boolean")
		}
	}
	if c := b.Canary; c != nil {
		cn := yamlx.Get(root, "canary")
		if c.Weight < 0 || c.Weight > 100 {
			errs.Errorf(yamlx.Get(cn, "weight"), "canary.weight", "must be a percentage, 0 to 100, not %d", c.Weight)
		}
		if len(c.Variables) == 0 {
			errs.Errorf(cn, "canary.variables", "a canary needs variables: it is the same spec with other variable values")
		}
		for name, v := range c.Variables {
			if v.Kind != yaml.ScalarNode {
				errs.Errorf(&v, "canary.variables."+name, "a variable value must be a string, number or boolean")
			}
		}
	}
	if m := b.Routing.MethodNotAllowed; m != 0 && m != 404 && m != 405 {
		errs.Errorf(yamlx.Get(yamlx.Get(root, "routing"), "method_not_allowed"), "routing.method_not_allowed", "must be 404 or 405, not %d", m)
	}
	if st := b.Auth.JWTInvalidTokenStatus; st != 0 && st != 401 && st != 403 {
		errs.Errorf(yamlx.Get(yamlx.Get(root, "auth"), "jwt_invalid_token_status"), "auth.jwt_invalid_token_status", "must be 401 or 403, not %d", st)
	}
	switch b.Log.Level {
	case "", "debug", "info", "warn", "error":
	default:
		errs.Errorf(yamlx.Get(yamlx.Get(root, "log"), "level"), "log.level", "must be debug, info, warn or error, not %q", b.Log.Level)
	}
	checkServiceAccounts(root, b.ServiceAccounts, &errs)
	if r := b.Redis; r.MasterName != "" && len(r.Addrs) == 0 {
		errs.Errorf(yamlx.Get(yamlx.Get(root, "redis"), "master_name"), "redis.master_name", "needs addrs: the Sentinels' addresses")
	}
	takeMocks(b, root, "functions", b.Functions, func(f *Function) bool { return f.Mock }, &errs)
	takeMocks(b, root, "containers", b.Containers, func(c *Container) bool { return c.Mock }, &errs)
	checkFunctions(root, b.Functions, &errs)
	checkContainers(root, b.Containers, &errs)
	checkBuckets(root, &b.ObjectStorage, &errs)
	checkQueues(root, b.Queues, &errs)
	checkStreams(root, b.Streams, &errs)
	checkYDB(root, b.YDB, &errs)
	checkSecurityProfiles(root, b, &errs)
	checkWafProfiles(root, b, &errs)
	checkARLProfiles(root, b, &errs)
	checkDomains(root, b, &errs)
	checkControlPlane(root, b, &errs)
	if b.Console.Entries < 0 || b.Console.Entries > 10000 {
		errs.Errorf(yamlx.Get(yamlx.Get(root, "console"), "entries"), "console.entries", "must be between 1 and 10000 (0: the default, 500)")
	}
	checkTracing(root, &b.Tracing, &errs)
	checkEndpoints(root, "datasphere", b.DataSphere, &errs)
	for _, c := range []struct {
		v    int
		path string
	}{{b.Limits.MaxConnections, "limits.max_connections"}, {b.WebSocket.MaxConnections, "websocket.max_connections"}, {b.WebSocket.MaxConnectionsPerIP, "websocket.max_connections_per_ip"}} {
		if c.v < 0 {
			section, key, _ := strings.Cut(c.path, ".")
			errs.Errorf(yamlx.Get(yamlx.Get(root, section), key), c.path, "must be positive (0: the default)")
		}
	}
	if b.Limits.MaxRateLimitBuckets < 0 {
		errs.Errorf(yamlx.Get(yamlx.Get(root, "limits"), "max_rate_limit_buckets"), "limits.max_rate_limit_buckets", "must be positive")
	}
	if b.Limits.MaxRequestBody < 0 {
		errs.Errorf(yamlx.Get(yamlx.Get(root, "limits"), "max_request_body"), "limits.max_request_body", "must be positive")
	}
	b.applyDefaults()
	return b, errs
}

// VariableValues returns the variable values as strings.
func (b *Bindings) VariableValues() map[string]string {
	out := make(map[string]string, len(b.Variables))
	for k, v := range b.Variables {
		out[k] = v.Value
	}
	return out
}

// Duration is a time.Duration written as "300s", "1m30s" or a number of seconds.
type Duration time.Duration

func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: a duration must be a scalar such as 30s", n.Line)
	}
	if secs, err := strconv.ParseFloat(n.Value, 64); err == nil {
		if secs < 0 {
			return fmt.Errorf("line %d: a duration cannot be negative", n.Line)
		}
		*d = Duration(secs * float64(time.Second))
		return nil
	}
	v, err := time.ParseDuration(n.Value)
	if err != nil || v < 0 {
		return fmt.Errorf("line %d: %q is not a duration (write for example 30s, 5m or 0.5)", n.Line, n.Value)
	}
	*d = Duration(v)
	return nil
}

// D returns the value as a time.Duration.
func (d *Duration) D() time.Duration {
	if d == nil {
		return 0
	}
	return time.Duration(*d)
}

// Size is a byte count written as 1048576, "512KB", "2.5MB" or "1GB"
// (binary multiples).
type Size int64

func (s *Size) UnmarshalYAML(n *yaml.Node) error {
	v, err := ParseSize(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %v", n.Line, err)
	}
	*s = Size(v)
	return nil
}

// ParseSize parses a byte count such as "2.5MB".
func ParseSize(s string) (int64, error) {
	t := strings.ToUpper(strings.TrimSpace(s))
	mult := 1.0
	for _, u := range []struct {
		suffix string
		m      float64
	}{{"KB", 1 << 10}, {"MB", 1 << 20}, {"GB", 1 << 30}, {"K", 1 << 10}, {"M", 1 << 20}, {"G", 1 << 30}, {"B", 1}} {
		if strings.HasSuffix(t, u.suffix) {
			t, mult = strings.TrimSpace(strings.TrimSuffix(t, u.suffix)), u.m
			break
		}
	}
	f, err := strconv.ParseFloat(t, 64)
	if err != nil || f < 0 {
		return 0, fmt.Errorf("%q is not a size (write for example 1048576, 512KB or 2.5MB)", s)
	}
	return int64(f * mult), nil
}
