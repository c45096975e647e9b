package config

import (
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/apigw/apigw/internal/yamlx"
	"go.yaml.in/yaml/v3"
)

// Function says where a function_id runs. Exactly one of URL, Command or
// Runtime is set.
type Function struct {
	// URL receives the event JSON by POST and answers the function's
	// response JSON: the exchange of the cloud's own invoke endpoint.
	URL string `yaml:"url"`
	// Command starts a process that serves the adapter protocol (see
	// docs/functions.md); Runtime (python or nodejs) with Handler
	// ("index.handler") and Dir runs unchanged handler code through the
	// adapter that ships with apigw.
	Command []string `yaml:"command"`
	Runtime string   `yaml:"runtime"`
	Handler string   `yaml:"handler"`
	Dir     string   `yaml:"dir"`
	// Yandex invokes the real function in Yandex Cloud (hybrid mode).
	Yandex *Yandex `yaml:"yandex"`
	// Env is added to the process environment (Command and Runtime).
	Env map[string]string `yaml:"env"`
	// Version is what the handler's context reports as function_version
	// (default: the tag); function_name is the function ID.
	Version string `yaml:"version"`
	// MemoryMB is context.memory_limit_in_mb (default 128).
	MemoryMB int `yaml:"memory_mb"`
	// Token, when set, is given to the handler as context.token.access_token.
	Token string `yaml:"token"`
	// Timeout bounds one invocation (default: the gateway's execution timeout).
	Timeout *Duration `yaml:"timeout"`
	// Mock answers the function's operations from the spec's declared
	// responses instead of running anything; it takes no other key.
	Mock bool `yaml:"mock"`

	// Key is the bindings key (function_id or function_id:tag); Node its
	// position.
	Key  string     `yaml:"-"`
	Node *yaml.Node `yaml:"-"`
}

// Yandex is how to reach a real cloud function: a service account's
// authorized key (a file, or an environment variable holding its JSON) and
// the endpoints, which default to Yandex Cloud's own.
type Yandex struct {
	ServiceAccountKey `yaml:",inline"`
	FunctionsEndpoint string `yaml:"functions_endpoint"`
}

// Runtimes are the languages whose adapter ships with apigw.
var Runtimes = []string{"nodejs", "python"}

// Kind names how the function runs: "url", "command" or "runtime".
func (f *Function) Kind() string {
	switch {
	case f.URL != "":
		return "url"
	case f.Yandex != nil:
		return "yandex"
	case len(f.Command) > 0:
		return "command"
	default:
		return "runtime"
	}
}

// checkFunctions validates the functions section and resolves relative
// directories against the bindings file's directory.
func checkFunctions(root *yaml.Node, fns map[string]*Function, errs *yamlx.List) {
	section := yamlx.Get(root, "functions")
	for key, f := range fns {
		path := yamlx.Join("functions", key)
		if f == nil {
			errs.Errorf(yamlx.Get(section, key), path, "needs url, command or runtime")
			continue
		}
		f.Key = key
		f.Node = yamlx.Get(section, key)
		at := func(field string) *yaml.Node {
			if n := yamlx.Get(f.Node, field); n != nil {
				return n
			}
			return f.Node
		}
		set := 0
		for _, on := range []bool{f.URL != "", len(f.Command) > 0, f.Runtime != "", f.Yandex != nil} {
			if on {
				set++
			}
		}
		switch {
		case set == 0:
			errs.Errorf(f.Node, path, "needs one of url (an invoke endpoint), command (an adapter process), runtime (python or nodejs, with handler) or yandex (the real cloud function)")
		case set > 1:
			errs.Errorf(f.Node, path, "give only one of url, command, runtime and yandex")
		case f.Yandex != nil:
			// Without a key of its own, the real function is invoked as the
			// service account the spec names (service_accounts:).
			y := f.Yandex
			if y.ServiceAccountKeyFile != "" && y.ServiceAccountKeyEnv != "" {
				errs.Errorf(at("yandex"), yamlx.Join(path, "yandex"), "give service_account_key_file or service_account_key_env, not both")
			}
		case f.URL != "":
			if !strings.HasPrefix(f.URL, "http://") && !strings.HasPrefix(f.URL, "https://") {
				errs.Errorf(at("url"), yamlx.Join(path, "url"), "must be an http:// or https:// URL, not %q", f.URL)
			}
		case f.Runtime != "":
			if i := sort.SearchStrings(Runtimes, f.Runtime); i == len(Runtimes) || Runtimes[i] != f.Runtime {
				errs.Errorf(at("runtime"), yamlx.Join(path, "runtime"), "must be one of %s, not %q", strings.Join(Runtimes, ", "), f.Runtime)
			}
			if mod, fn, ok := strings.Cut(f.Handler, "."); !ok || mod == "" || fn == "" {
				errs.Errorf(at("handler"), yamlx.Join(path, "handler"), "must name the file and the function, such as index.handler (got %q)", f.Handler)
			}
		}
		if f.MemoryMB < 0 {
			errs.Errorf(at("memory_mb"), yamlx.Join(path, "memory_mb"), "must be positive")
		}
	}
}

// checkDirs refuses a runtime or command function whose directory is not
// there: the mistake would otherwise surface as a 502 on the first request.
func checkDirs(fns map[string]*Function) yamlx.List {
	var errs yamlx.List
	for key, f := range fns {
		if f == nil || (f.Kind() != "runtime" && f.Kind() != "command") {
			continue
		}
		at := f.Node
		if n := yamlx.Get(f.Node, "dir"); n != nil {
			at = n
		}
		if fi, err := os.Stat(f.Dir); err != nil || !fi.IsDir() {
			errs.Errorf(at, yamlx.Join(yamlx.Join("functions", key), "dir"), "%s is not a directory", f.Dir)
		}
	}
	return errs
}

// resolveDirs makes relative function directories relative to the bindings
// file, so that apigw works from any working directory.
func resolveDirs(fns map[string]*Function, file string) {
	base := filepath.Dir(file)
	for _, f := range fns {
		if f != nil && f.Yandex != nil {
			f.Yandex.resolve(base)
		}
		if f == nil || f.Kind() == "url" || f.Kind() == "yandex" {
			continue
		}
		if f.Dir == "" {
			f.Dir = "."
		}
		if !filepath.IsAbs(f.Dir) {
			f.Dir = filepath.Join(base, f.Dir)
		}
		if abs, err := filepath.Abs(f.Dir); err == nil {
			f.Dir = abs
		}
	}
}

// KeylessYandex reports whether a binding of function id, for any tag,
// invokes the real cloud function without a key of its own: it then needs
// the service account the spec names.
func (b *Bindings) KeylessYandex(id string) bool {
	for key, f := range b.Functions {
		if f == nil || f.Yandex == nil || f.Yandex.HasKey() {
			continue
		}
		if key == id || key == "default" || strings.HasPrefix(key, id+":") {
			return true
		}
	}
	return false
}

// Function returns the binding of a function ID and tag: "id:tag" wins over
// "id", which wins over "default". nil when nothing matches, or when what
// matches is {mock: true}.
func (b *Bindings) Function(id, tag string) *Function {
	f, _ := b.function(id, tag)
	return f
}

func (b *Bindings) function(id, tag string) (f *Function, mocked bool) {
	for _, key := range []string{id + ":" + tag, id, "default"} {
		if b.Mocked["functions/"+key] {
			return nil, true
		}
		if f := b.Functions[key]; f != nil {
			return f, false
		}
	}
	return nil, false
}

// MockTarget reports whether a target of kind "functions", "containers",
// "buckets", "queues", "streams", "ydb" or "datasphere" that has no
// binding answers from the spec's mocks: under mock (apigw serve --mock),
// or when the binding that would apply is {mock: true} (its own, else
// the kind's default). tag matters only to functions.
func (b *Bindings) MockTarget(kind, id, tag string) bool {
	if b.Mock {
		return true
	}
	switch kind {
	case "functions":
		_, mocked := b.function(id, tag)
		return mocked
	case "containers":
		if b.Mocked["containers/"+id] {
			return true
		}
		return b.Containers[id] == nil && b.Mocked["containers/default"]
	}
	return false
}

// AllowUnbound reports whether a target the bindings leave unbound is no
// error: the spec is checked alone (SpecOnly), or the target is mocked.
func (b *Bindings) AllowUnbound(kind, id, tag string) bool {
	return b.SpecOnly || b.MockTarget(kind, id, tag)
}

// takeMocks moves the {mock: true} entries of a section out of its map
// into b.Mocked; an entry that sets anything else beside mock is an error.
func takeMocks[T any](b *Bindings, root *yaml.Node, section string, m map[string]*T, mock func(*T) bool, errs *yamlx.List) {
	sn := yamlx.Get(root, section)
	for key, v := range m {
		if v == nil || !mock(v) {
			continue
		}
		n := yamlx.Get(sn, key)
		if n != nil && len(n.Content) > 2 {
			errs.Errorf(n, yamlx.Join(section, key), "mock: true takes no other key: the operations answer from the spec's declared responses")
		}
		if b.Mocked == nil {
			b.Mocked = map[string]bool{}
		}
		b.Mocked[section+"/"+key] = true
		delete(m, key)
	}
}
