package functions

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"sync"
)

// The adapters ship inside the binary, so that `apigw` alone runs Python
// and Node.js handlers; they are written out once to a cache directory.
//
//go:embed runtimes/python/apigw_adapter.py runtimes/nodejs/apigw_adapter.js
var runtimeFiles embed.FS

var runtimeCommands = map[string]struct{ interpreter, file string }{
	"python": {"python3", "runtimes/python/apigw_adapter.py"},
	"nodejs": {"node", "runtimes/nodejs/apigw_adapter.js"},
}

var extractOnce sync.Map // file → *extracted

type extracted struct {
	once sync.Once
	path string
	err  error
}

// AdapterCommand returns the command that runs the adapter of a runtime.
func AdapterCommand(runtime string) ([]string, error) {
	rc, ok := runtimeCommands[runtime]
	if !ok {
		return nil, fmt.Errorf("no adapter for runtime %q", runtime)
	}
	v, _ := extractOnce.LoadOrStore(rc.file, &extracted{})
	e := v.(*extracted)
	e.once.Do(func() { e.path, e.err = extract(rc.file) })
	if e.err != nil {
		return nil, e.err
	}
	return []string{rc.interpreter, e.path}, nil
}

// extract writes an embedded adapter to <cache>/apigw/runtimes/<hash>/, where
// the hash of its content keeps versions apart.
func extract(name string) (string, error) {
	data, err := runtimeFiles.ReadFile(name)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(data)
	base, err := os.UserCacheDir()
	if err != nil {
		base = os.TempDir()
	}
	dir := filepath.Join(base, "apigw", "runtimes", hex.EncodeToString(sum[:8]))
	path := filepath.Join(dir, filepath.Base(name))
	if cur, err := os.ReadFile(path); err == nil && string(cur) == string(data) {
		return path, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("runtime adapter: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".adapter-*")
	if err != nil {
		return "", fmt.Errorf("runtime adapter: %w", err)
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return "", fmt.Errorf("runtime adapter: %w", err)
	}
	tmp.Close()
	if err := os.Rename(tmp.Name(), path); err != nil {
		os.Remove(tmp.Name())
		return "", fmt.Errorf("runtime adapter: %w", err)
	}
	return path, nil
}
