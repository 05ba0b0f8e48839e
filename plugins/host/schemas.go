package host

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/renameio/v2"

	"github.com/runbook-dev/runbook/dsl"
)

// schemaTimeout bounds starting a plugin to fetch its schema.
const schemaTimeout = 30 * time.Second

type schemaEntry struct {
	once   sync.Once
	schema *dsl.ProviderSchema
	err    error
	done   atomic.Bool // set once schema and err are
}

// schemaKey names a cached schema: a built-in provider by name, a plugin
// by the sha256 of its binary.
type schemaKey struct{ builtin, sum string }

func (h *Host) schemaEntry(key schemaKey) *schemaEntry {
	h.mu.Lock()
	defer h.mu.Unlock()
	e := h.schemas[key]
	if e == nil {
		e = &schemaEntry{}
		h.schemas[key] = e
	}
	return e
}

// Schemas is the language's SchemaSource: built-in providers' schemas,
// and each verified plugin's, fetched once per process (from the schema
// cache when it has the binary's, else by starting the plugin once). A
// provider that is not installed, or that Verify refuses, is not known
// (ok=false): the validator then warns that its schema is not available.
func (h *Host) Schemas() dsl.SchemaSource { return schemaSource{h} }

type schemaSource struct{ h *Host }

func (s schemaSource) ProviderSchema(name string) (*dsl.ProviderSchema, bool) {
	ps, err := s.h.Schema(context.Background(), name)
	return ps, err == nil && ps != nil
}

// Schema returns the schema of a built-in provider or of a verified
// plugin.
func (h *Host) Schema(ctx context.Context, name string) (*dsl.ProviderSchema, error) {
	if f := h.opts.Builtin[name]; f != nil {
		e := h.schemaEntry(schemaKey{builtin: name})
		e.once.Do(func() {
			p := f()
			defer func() { _ = p.Close() }()
			e.schema, e.err = p.Schema(ctx)
			e.done.Store(true)
		})
		return e.schema, e.err
	}
	r := h.resolve(name)
	if r.err != nil {
		return nil, r.err
	}
	return h.pluginSchema(ctx, name, r.plugin.Path, r.sha)
}

// cachedSchema is a plugin's schema if this process already has it.
func (h *Host) cachedSchema(r *resolution) *dsl.ProviderSchema {
	h.mu.Lock()
	e := h.schemas[schemaKey{sum: r.sha}]
	h.mu.Unlock()
	if e == nil || !e.done.Load() || e.err != nil {
		return nil
	}
	return e.schema
}

// pluginSchema fetches the schema of the binary with the given hash: from
// memory, from the schema cache, or from the plugin, started for it.
func (h *Host) pluginSchema(ctx context.Context, name, path, sum string) (*dsl.ProviderSchema, error) {
	e := h.schemaEntry(schemaKey{sum: sum})
	e.once.Do(func() {
		defer e.done.Store(true)
		if s := h.readSchemaCache(sum); s != nil {
			e.schema = s
			return
		}
		ctx, cancel := context.WithTimeout(ctx, schemaTimeout)
		defer cancel()
		inst, err := h.launch(name, path, sum)
		if err != nil {
			e.err = err
			h.warn("cannot start the provider plugin for its schema", "provider", name, "error", err)
			return
		}
		defer h.stop(inst)
		e.schema, e.err = inst.prov.Schema(ctx)
		if e.err != nil {
			e.err = fmt.Errorf("provider %q: fetching the schema: %w%s", name, e.err, stderrTail(inst))
			h.warn("cannot fetch the provider's schema", "provider", name, "error", e.err)
			return
		}
		h.writeSchemaCache(sum, e.schema)
	})
	return e.schema, e.err
}

func (h *Host) schemaCachePath(sum string) string {
	if h.opts.SchemaCache == "" {
		return ""
	}
	return filepath.Join(h.opts.SchemaCache, sum+".json")
}

func (h *Host) readSchemaCache(sum string) *dsl.ProviderSchema {
	path := h.schemaCachePath(sum)
	if path == "" {
		return nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	var pj ProviderJSON
	if err := json.Unmarshal(b, &pj); err != nil {
		return nil
	}
	s, err := DecodeSchema(&pj)
	if err != nil {
		return nil
	}
	return s
}

// writeSchemaCache keeps a schema for later processes; the cache is an
// optimisation, so failures are ignored.
func (h *Host) writeSchemaCache(sum string, s *dsl.ProviderSchema) {
	path := h.schemaCachePath(sum)
	if path == "" {
		return
	}
	pj, err := EncodeSchema(s)
	if err != nil {
		return
	}
	b, err := json.Marshal(pj)
	if err != nil {
		return
	}
	if os.MkdirAll(filepath.Dir(path), 0o755) != nil {
		return
	}
	_ = renameio.WriteFile(path, b, 0o644)
}

// DefaultSchemaCache is the per-user schema cache directory,
// $XDG_CACHE_HOME/runbook/provider-schemas or its platform equivalent; ""
// when there is none.
func DefaultSchemaCache() string {
	dir, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(dir, "runbook", "provider-schemas")
}
