package simfault

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func get(path string) *http.Request {
	return httptest.NewRequest(http.MethodGet, path, nil)
}

// kinds draws n requests to path and counts the fault kinds.
func kinds(p *Picker, path string, n int) map[string]int {
	out := map[string]int{}
	for range n {
		if f := p.Pick(get(path)); f != nil {
			out[f.Kind]++
		} else {
			out[""]++
		}
	}
	return out
}

func TestPickRatesAndOrder(t *testing.T) {
	p := NewPicker(7, []Rule{
		{PathPrefix: "/api/", DropRate: 0.1},
		{PathPrefix: "/api/", ErrorRate: 0.3, ErrorStatus: 503},
	})
	got := kinds(p, "/api/x", 10000)
	if got["drop"] < 800 || got["drop"] > 1200 {
		t.Errorf("%d drops in 10000 at 10%%", got["drop"])
	}
	// The second rule sees the 90% not dropped.
	if got["error"] < 2400 || got["error"] > 3000 {
		t.Errorf("%d errors in 10000 at 30%% of 90%%", got["error"])
	}
	if n := kinds(p, "/other", 100)[""]; n != 100 {
		t.Errorf("a path no rule matches met %d non-faults in 100", n)
	}
}

func TestPickIsSeeded(t *testing.T) {
	rules := []Rule{{PathPrefix: "/", DropRate: 0.2, ErrorRate: 0.2, Latency: "1ms", LatencyRate: 0.5}}
	seq := func(seed uint64) string {
		p := NewPicker(seed, rules)
		var b strings.Builder
		for range 200 {
			f := p.Pick(get("/a"))
			if f == nil {
				b.WriteByte('.')
			} else {
				b.WriteByte(f.Kind[0])
			}
		}
		return b.String()
	}
	if a, b := seq(1), seq(1); a != b {
		t.Fatalf("same seed, different faults:\n%s\n%s", a, b)
	}
	if seq(1) == seq(2) {
		t.Fatal("different seeds gave the same 200 decisions")
	}
}

// TestLatencyRate: latency_rate makes spikes on a fraction of requests; the
// others fall through to later rules. Without it, latency applies to every
// request, as before the field existed.
func TestLatencyRate(t *testing.T) {
	p := NewPicker(3, []Rule{
		{PathPrefix: "/", Latency: "250ms", LatencyRate: 0.1},
		{PathPrefix: "/", ErrorRate: 1, ErrorStatus: 502},
	})
	spikes, errs := 0, 0
	for range 5000 {
		f := p.Pick(get("/a"))
		switch {
		case f == nil:
			t.Fatal("a request met no rule")
		case f.Kind == "latency":
			if f.Latency != 250*time.Millisecond {
				t.Fatalf("spike of %s", f.Latency)
			}
			spikes++
		case f.Kind == "error" && f.Status == 502:
			errs++
		}
	}
	if spikes < 400 || spikes > 600 || spikes+errs != 5000 {
		t.Errorf("%d spikes and %d errors in 5000 at 10%%", spikes, errs)
	}
	always := NewPicker(3, []Rule{{PathPrefix: "/", Latency: "5ms"}})
	if n := kinds(always, "/a", 100)["latency"]; n != 100 {
		t.Errorf("latency without a rate applied to %d of 100", n)
	}
}

func TestTimes(t *testing.T) {
	p := NewPicker(1, []Rule{{PathPrefix: "/", ErrorRate: 1, Times: 2}})
	got := kinds(p, "/a", 5)
	if got["error"] != 2 || got[""] != 3 {
		t.Fatalf("times 2: %v", got)
	}
}

func TestValidate(t *testing.T) {
	for _, bad := range []Rule{
		{Latency: "soon"}, {Latency: "-1s"}, {ErrorRate: 1.5}, {DropRate: -0.1},
		{LatencyRate: 2}, {LatencyRate: -1}, {ErrorStatus: 404},
	} {
		if err := Validate([]Rule{bad}); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
	if err := Validate([]Rule{{PathPrefix: "/", Latency: "1s", LatencyRate: 0.5, DropRate: 0.1, ErrorRate: 0.3, ErrorStatus: 503}}); err != nil {
		t.Error(err)
	}
}

// TestDrop: a dropped request reaches the client as a connection closed
// without an answer, and the recorder says so.
func TestDrop(t *testing.T) {
	dropped := make(chan bool, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &Recorder{ResponseWriter: w}
		rec.Drop()
		dropped <- rec.Dropped
	}))
	defer srv.Close()
	// No keep-alive and no retry of the request by the transport: the
	// client must see the drop itself.
	c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/x", strings.NewReader("{}"))
	resp, err := c.Do(req)
	if err == nil {
		b, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		t.Fatalf("a dropped request got %s %q", resp.Status, b)
	}
	if !errors.Is(err, io.EOF) && !strings.Contains(err.Error(), "EOF") && !strings.Contains(err.Error(), "reset") {
		t.Errorf("error %v: not a closed connection", err)
	}
	if !<-dropped {
		t.Error("the recorder does not say it dropped")
	}
}
