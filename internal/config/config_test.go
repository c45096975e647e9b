package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	b, errs := Parse([]byte("listen: :9000\nvariables: {env: prod, n: 3}\nlimits: {max_request_body: 1MB, execution_timeout: 1m, shutdown_timeout: 2.5}\nfunctions: {fn1: {url: 'http://x'}}\n"))
	if errs.Err() != nil {
		t.Fatal(errs)
	}
	if b.Listen != ":9000" || b.Admin != DefaultAdmin || b.Limits.MaxRequestBody != 1<<20 ||
		b.Limits.ExecutionTimeout.D() != time.Minute || b.Limits.ShutdownTimeout.D() != 2500*time.Millisecond {
		t.Errorf("bindings = %+v", b)
	}
	if v := b.VariableValues(); v["env"] != "prod" || v["n"] != "3" {
		t.Errorf("variables = %v", v)
	}
	d := Default()
	if d.Limits.MaxRequestBody != 2621440 || d.Limits.ExecutionTimeout.D() != 300*time.Second || d.Routing.MethodNotAllowed != 405 {
		t.Errorf("defaults = %+v", d)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct{ src, want string }{
		{"listn: :1\n", "1:1: unknown key \"listn\""},
		{"limits:\n  body: 1MB\n", "2:3: limits: unknown key \"body\""},
		{"limits:\n  max_request_body: lots\n", "2:21: limits.max_request_body: \"lots\" is not a size"},
		{"limits:\n  execution_timeout: soon\n", "2:22: limits.execution_timeout: \"soon\" is not a duration"},
		{"routing: {method_not_allowed: 403}\n", "1:31: routing.method_not_allowed: must be 404 or 405"},
		{"variables: {a: [1]}\n", "1:16: variables.a: a variable value must be a string"},
		{"- a\n", "1:1: the bindings file must be a mapping"},
		{"admin_tls: {cert: a.pem}\n", "1:12: admin_tls: cert and key go together"},
		{"admin_tls: {cert: a.pem, key: a.key, local_ca: true}\n", "admin_tls: either cert and key, or local_ca: true, not both"},
	}
	for _, tt := range tests {
		_, errs := Parse([]byte(tt.src))
		if errs.Err() == nil || !strings.Contains(errs.Error(), tt.want) {
			t.Errorf("Parse(%q) = %v, want %q", tt.src, errs, tt.want)
		}
	}
}

func TestParseBindingsOfResources(t *testing.T) {
	src := `functions:
  fn1: {url: 'http://127.0.0.1:9000/invoke'}
  fn1:beta: {runtime: python, handler: index.handler, dir: ./fn}
  default: {command: [./my-adapter], env: {A: "1"}}
containers:
  c1: {url: 'http://127.0.0.1:8081', read_timeout: 5s}
datasphere:
  n1: {url: 'https://ml.internal/node'}
`
	b, errs := Parse([]byte(src))
	if errs.Err() != nil {
		t.Fatal(errs)
	}
	for _, tt := range []struct{ id, tag, want string }{
		{"fn1", "$latest", "url"}, {"fn1", "beta", "runtime"}, {"other", "$latest", "command"},
	} {
		if f := b.Function(tt.id, tt.tag); f == nil || f.Kind() != tt.want {
			t.Errorf("Function(%s, %s) = %+v, want a %s binding", tt.id, tt.tag, f, tt.want)
		}
	}
	if b.Containers["c1"].ReadTimeout.D() != 5*time.Second || b.DataSphere["n1"].URL != "https://ml.internal/node" {
		t.Errorf("containers/datasphere = %+v %+v", b.Containers["c1"], b.DataSphere["n1"])
	}
}

// TestBucketDefaults: a bucket bound with neither dir nor endpoint is
// Yandex Object Storage; key files are found beside the bindings file.
func TestBucketDefaults(t *testing.T) {
	dir := t.TempDir()
	file := dir + "/apigw.yaml"
	src := "object_storage:\n  buckets:\n    site: {service_account_key_file: sa.json}\nqueues:\n  default: {service_account_key_file: /abs/sa.json}\n"
	if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	b, errs := LoadFile(file)
	if errs.Err() != nil {
		t.Fatal(errs)
	}
	site := b.ObjectStorage.Buckets["site"]
	if site.Endpoint != DefaultStorageEndpoint || site.Region != "ru-central1" || site.ServiceAccountKeyFile != dir+"/sa.json" {
		t.Errorf("bucket = %+v", site)
	}
	if q := b.Queues["default"]; q.Endpoint != DefaultQueueEndpoint || q.ServiceAccountKeyFile != "/abs/sa.json" {
		t.Errorf("queue = %+v", q)
	}
}

func TestParseBindingsOfResourcesErrors(t *testing.T) {
	tests := []struct{ src, want string }{
		{"functions:\n  fn1: {}\n", "2:8: functions.fn1: needs one of url (an invoke endpoint), command"},
		{"functions:\n  fn1: {url: 'http://x', runtime: python}\n", "functions.fn1: give only one of url, command, runtime and yandex"},
		{"functions:\n  fn1: {url: 'ftp://x'}\n", "2:14: functions.fn1.url: must be an http:// or https:// URL"},
		{"functions:\n  fn1: {runtime: ruby, handler: a.b}\n", "2:18: functions.fn1.runtime: must be one of nodejs, python"},
		{"functions:\n  fn1: {runtime: python, handler: main}\n", "functions.fn1.handler: must name the file and the function"},
		{"functions:\n  fn1: {url: 'http://x', handlr: a.b}\n", "2:26: functions.fn1: unknown key \"handlr\""},
		{"containers:\n  c1: {url: 'nope'}\n", "2:13: containers.c1.url: needs an http:// or https:// URL"},
		{"datasphere:\n  n1: {}\n", "datasphere.n1.url: needs an http:// or https:// URL"},
		{"object_storage:\n  buckets:\n    b: {dir: ./d, endpoint: 'http://x'}\n", "object_storage.buckets.b: give dir (a local directory) or endpoint"},
		{"object_storage:\n  buckets:\n    b: {dir: ./d, access_key_id: a, secret_access_key: s}\n", "object_storage.buckets.b: a dir bucket takes no credentials"},
		{"object_storage:\n  buckets:\n    b: {presign_expiry: 8d}\n", "object_storage.buckets.b.presign_expiry"},
		{"object_storage:\n  buckets:\n    b: {presign_expiry: 200h}\n", "3:25: object_storage.buckets.b.presign_expiry: must be between 1s and 7 days"},
		{"object_storage:\n  buckets:\n    b: {presign_endpoint: 'minio:9000'}\n", "object_storage.buckets.b.presign_endpoint: needs an http:// or https:// URL"},
		{"queues:\n  q: {access_key_id: a}\n", "2:22: queues.q: access_key_id and secret_access_key go together"},
		{"streams:\n  s: {access_key_id: a, secret_access_key: b, service_account_key_file: k.json}\n", "streams.s: give static keys (access_key_id, secret_access_key) or a service account key, not both"},
		{"ydb:\n  /d: {service_account_key_file: k.json, service_account_key_env: K}\n", "ydb./d: give service_account_key_file or service_account_key_env, not both"},
		{"queues:\n  q: {service_account_key_env: K, iam_endpoint: iam}\n", "queues.q.iam_endpoint: needs an http:// or https:// URL"},
		{"security_profiles:\n  sp: {deny: [10.0.0.0/33]}\n", "security_profiles.sp.deny: \"10.0.0.0/33\" is not an IP address or a CIDR"},
		{"security_profiles:\n  sp: {rate_limit: {rps: 1, rpm: 1}}\n", "security_profiles.sp.rate_limit: needs exactly one of rps and rpm"},
		{"security_profiles:\n  sp: {rate_limit: {rps: 1, key: 'cookie:x'}}\n", "security_profiles.sp.rate_limit.key: must be ip or header:<Name>"},
		{"security_profiles:\n  sp: {client_ip: x-real-ip}\n", "security_profiles.sp.client_ip: must be remote or x-forwarded-for"},
		{"canary: {weight: 150, variables: {a: b}}\n", "canary.weight: must be a percentage, 0 to 100"},
		{"canary: {weight: 10}\n", "canary.variables: a canary needs variables"},
		{"service_accounts:\n  aje1: {}\n", "2:9: service_accounts.aje1: needs service_account_key_file or service_account_key_env"},
		{"service_accounts:\n  aje1:\n", "service_accounts.aje1: needs service_account_key_file or service_account_key_env"},
		{"service_accounts:\n  aje1: {service_account_key_file: k.json, service_account_key_env: K}\n", "2:69: service_accounts.aje1: give service_account_key_file or service_account_key_env, not both"},
		{"service_accounts:\n  aje1: {service_account_key_env: K, iam_endpoint: iam}\n", "service_accounts.aje1.iam_endpoint: needs an http:// or https:// URL"},
		{"service_accounts:\n  aje1: {serviceAccountKeyFile: k.json}\n", "2:10: service_accounts.aje1: unknown key \"serviceAccountKeyFile\"; did you mean \"service_account_key_file\"?"},
		{"functions:\n  f: {yandex: {service_account_key_file: k.json, service_account_key_env: K}}\n", "functions.f.yandex: give service_account_key_file or service_account_key_env, not both"},
	}
	for _, tt := range tests {
		_, errs := Parse([]byte(tt.src))
		if errs.Err() == nil || !strings.Contains(errs.Error(), tt.want) {
			t.Errorf("Parse(%q) = %v, want %q", tt.src, errs, tt.want)
		}
	}
}

// TestFunctionDirs: a runtime or command function's directory must exist
// when the bindings load, relative to the bindings file.
func TestFunctionDirs(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "fn"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ bindings, want string }{
		{"functions:\n  f: {runtime: python, handler: index.handler, dir: ./fn}\n", ""},
		{"functions:\n  f: {command: [./run], dir: fn}\n", ""},
		{"functions:\n  f: {url: 'http://x', dir: ./missing}\n", ""}, // an invoke URL has no directory
		{"functions:\n  f: {runtime: python, handler: index.handler, dir: ./missing}\n", ":2:53: functions.f.dir: " + filepath.Join(dir, "missing") + " is not a directory"},
		{"functions:\n  f: {command: [./run], dir: apigw.yaml}\n", "functions.f.dir: " + filepath.Join(dir, "apigw.yaml") + " is not a directory"},
	} {
		file := filepath.Join(dir, "apigw.yaml")
		if err := os.WriteFile(file, []byte(c.bindings), 0o644); err != nil {
			t.Fatal(err)
		}
		_, errs := LoadFile(file)
		got := ""
		if err := errs.Err(); err != nil {
			got = err.Error()
		}
		if c.want == "" && got != "" || c.want != "" && !strings.Contains(got, c.want) {
			t.Errorf("%q: got %q, want %q", c.bindings, got, c.want)
		}
	}
}

func TestControlPlaneNeedsTokensOffLoopback(t *testing.T) {
	for _, c := range []struct {
		src  string
		want string
	}{
		{"control_plane: {listen: '0.0.0.0:8443'}", "not a loopback address: set control_plane.tokens"},
		{"control_plane: {listen: '0.0.0.0:8443', tokens: [short]}", "use at least 16"},
		{"control_plane: {state_dir: x}", "needs listen"},
		{"control_plane: {listen: '127.0.0.1:8443', database: 'mysql://x'}", "postgres:// URL"},
		{"control_plane: {listen: '127.0.0.1:8443', base_domain: 'bad domain'}", "not a domain name"},
		{"certificates: {fpq1: {cert: a.pem}}", "needs cert and key"},
	} {
		_, errs := Parse([]byte(c.src))
		if errs.Err() == nil || !strings.Contains(errs.Err().Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.src, errs.Err(), c.want)
		}
	}
	b, errs := Parse([]byte("control_plane: {listen: '0.0.0.0:8443', tokens: [a-token-of-16-chars]}"))
	if errs.Err() != nil || b.ControlPlane.BaseDomain != DefaultBaseDomain || b.ControlPlane.Resync.D() != 5*time.Second {
		t.Fatalf("%v %+v", errs.Err(), b.ControlPlane)
	}
}
