package core_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/runbook-dev/runbook/plugins/core"
	"github.com/runbook-dev/runbook/plugins/provider"
)

// flaky answers 503 to the first n requests, then 200.
type flaky struct {
	n, seen atomic.Int64
}

func (f *flaky) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	if f.seen.Add(1) <= f.n.Load() {
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	w.WriteHeader(http.StatusOK)
}

func TestWait(t *testing.T) {
	f := &flaky{}
	f.n.Store(2)
	srv := httptest.NewServer(f)
	defer srv.Close()
	counter := filepath.Join(t.TempDir(), "n")
	// Succeeds on its third run.
	thirdTime := `n=$(cat "$1" 2>/dev/null || echo 0); n=$((n+1)); echo $n > "$1"; [ "$n" -ge 3 ]`

	tests := []struct {
		name         string
		set          map[string]cty.Value
		wantAttempts int64
	}{
		{"command at once", map[string]cty.Value{"command": strs("true")}, 1},
		{"command third time", map[string]cty.Value{"command": strs("sh", "-c", thirdTime, "sh", counter), "interval": cty.StringVal("10ms")}, 3},
		{"url third time", map[string]cty.Value{"url": cty.StringVal(srv.URL), "interval": cty.StringVal("10ms"), "timeout": cty.StringVal("5s")}, 3},
	}
	p := core.New(core.Options{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := mustApply(t, p, request(t, "wait", tt.set))
			if got := num(t, out, "attempts"); got != tt.wantAttempts {
				t.Errorf("attempts = %d, want %d", got, tt.wantAttempts)
			}
			if _, err := time.ParseDuration(str(t, out, "elapsed")); err != nil {
				t.Errorf("elapsed: %v", err)
			}
			if !out.Type().Equals(core.Schema().Actions["wait"].OutputType()) {
				t.Errorf("type %#v", out.Type())
			}
		})
	}
}

func TestWaitFailures(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusBadGateway)
	}))
	defer srv.Close()
	tests := []struct {
		name      string
		set       map[string]cty.Value
		retryable bool
		contains  []string
	}{
		{"both", map[string]cty.Value{"command": strs("true"), "url": cty.StringVal(srv.URL)}, false, []string{"not both"}},
		{"neither", map[string]cty.Value{"interval": cty.StringVal("1s")}, false, []string{"needs either command"}},
		{"bad interval", map[string]cty.Value{"command": strs("true"), "interval": cty.StringVal("soon")}, false, []string{"not a duration"}},
		{"zero interval", map[string]cty.Value{"command": strs("true"), "interval": cty.StringVal("0s")}, false, []string{"interval must be positive"}},
		{"negative timeout", map[string]cty.Value{"command": strs("true"), "timeout": cty.StringVal("-1s")}, false, []string{"negative"}},
		{"bad url", map[string]cty.Value{"url": cty.StringVal("localhost:80")}, false, []string{"http:// or https://"}},
		{"command timeout", map[string]cty.Value{
			"command": strs("sh", "-c", "echo not yet >&2; exit 1"), "interval": cty.StringVal("10ms"), "timeout": cty.StringVal("200ms"),
		}, true, []string{"timed out after 200ms", "exited with code 1", "not yet"}},
		{"url timeout", map[string]cty.Value{"url": cty.StringVal(srv.URL), "interval": cty.StringVal("10ms"), "timeout": cty.StringVal("200ms")}, true,
			[]string{"timed out after 200ms", "502 Bad Gateway"}},
		{"timeout during a slow attempt", map[string]cty.Value{"command": strs("sleep", "10"), "timeout": cty.StringVal("100ms")}, true,
			[]string{"timed out after 100ms", "had not finished"}},
		{"missing program", map[string]cty.Value{"command": strs("runbook-no-such-program-xyz"), "interval": cty.StringVal("10ms")}, false,
			[]string{"not found"}},
	}
	p := core.New(core.Options{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := request(t, "wait", tt.set)
			_, err := apply(t, p, r)
			wantErr(t, err, tt.retryable, tt.contains...)
			if !tt.retryable {
				// Plan reports the same validation errors.
				if _, perr := plan(t, p, r); perr != nil && perr.Error() != err.Error() {
					t.Errorf("Plan error %q differs from Apply's %q", perr, err)
				} else if perr == nil && tt.name != "missing program" {
					t.Errorf("Plan accepted what Apply refused: %v", err)
				}
			}
		})
	}
}

func TestWaitCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	r := request(t, "wait", map[string]cty.Value{"command": strs("false"), "interval": cty.StringVal("1h")})
	go func() {
		time.Sleep(50 * time.Millisecond)
		cancel()
	}()
	start := time.Now()
	_, err := core.New(core.Options{}).Apply(ctx, r)
	wantErr(t, err, false, "cancelled")
	if !errors.Is(err, context.Canceled) {
		t.Errorf("%v is not context.Canceled", err)
	}
	if time.Since(start) > 5*time.Second {
		t.Errorf("took %s", time.Since(start))
	}
}

func TestWaitPlanAndCheck(t *testing.T) {
	rec := &recorder{}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	marker := filepath.Join(t.TempDir(), "m")
	p := core.New(core.Options{})
	for _, set := range []map[string]cty.Value{
		{"url": cty.StringVal(srv.URL + "/json")},
		{"command": strs("touch", marker)},
		{"command": cty.UnknownVal(cty.List(cty.String))},
	} {
		out, err := plan(t, p, request(t, "wait", set))
		if err != nil {
			t.Fatal(err)
		}
		if out.IsKnown() {
			t.Errorf("plan = %#v, want unknown", out)
		}
	}
	if rec.count() != 0 {
		t.Errorf("Plan made %d requests", rec.count())
	}
	assertNoFile(t, marker)

	// Check probes a URL once.
	resp, err := p.Check(context.Background(), &provider.CheckRequest{Request: *request(t, "wait", map[string]cty.Value{"url": cty.StringVal(srv.URL + "/json")})})
	if err != nil || resp.Result != provider.Applied {
		t.Fatalf("Check = %+v, %v", resp, err)
	}
	checkOutputType(t, "wait", resp.Outputs)
	resp, err = p.Check(context.Background(), &provider.CheckRequest{Request: *request(t, "wait", map[string]cty.Value{"url": cty.StringVal(srv.URL + "/status/503")})})
	if err != nil || resp.Result != provider.NotApplied {
		t.Fatalf("Check = %+v, %v", resp, err)
	}
}
