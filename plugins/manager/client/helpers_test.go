package client

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"

	"github.com/rogpeppe/go-internal/txtar"
)

// fixture returns file name of testdata/archive.txtar; the archive's comment
// says where each body comes from.
func fixture(t *testing.T, archive, name string) []byte {
	t.Helper()
	a, err := txtar.ParseFile(filepath.Join("testdata", archive+".txtar"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range a.Files {
		if f.Name == name {
			if !json.Valid(f.Data) {
				t.Fatalf("%s/%s is not valid JSON", archive, name)
			}
			return f.Data
		}
	}
	t.Fatalf("no %s in testdata/%s.txtar", name, archive)
	return nil
}

// recorded is what a fake manager saw of one request.
type recorded struct {
	Method string
	Path   string // escaped
	Query  map[string][]string
	Header http.Header
	Body   []byte
	Length int64
	TE     []string
}

// fake is a manager stand-in on 127.0.0.1 that records requests.
type fake struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []recorded
}

func newFake(t *testing.T, h http.Handler) *fake {
	t.Helper()
	f := &fake{}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		f.reqs = append(f.reqs, recorded{
			Method: r.Method, Path: r.URL.EscapedPath(), Query: r.URL.Query(),
			Header: r.Header.Clone(), Body: body, Length: r.ContentLength, TE: r.TransferEncoding,
		})
		f.mu.Unlock()
		r.Body = io.NopCloser(bytes.NewReader(body))
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *fake) last(t *testing.T) recorded {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.reqs) == 0 {
		t.Fatal("the fake manager got no request")
	}
	return f.reqs[len(f.reqs)-1]
}

func (f *fake) all() []recorded {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]recorded(nil), f.reqs...)
}

func (f *fake) client(t *testing.T, mod ...func(*Config)) *Client {
	t.Helper()
	cfg := Config{Endpoint: f.URL, Username: "admin", Password: "s3cret-pass"}
	for _, m := range mod {
		m(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// reply writes a JSON body with a status.
func reply(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

func jsonBody(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("request body %q is not a JSON object: %v", b, err)
	}
	return m
}

// guarded is a value shared by a test and its fake's handlers.
type guarded[T any] struct {
	mu sync.Mutex
	v  T
}

func newGuarded[T any](v T) *guarded[T] { return &guarded[T]{v: v} }

func (g *guarded[T]) get() T {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.v
}

func (g *guarded[T]) set(v T) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.v = v
}
