package simfault

import (
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
)

type testFaults struct {
	Rules []Rule `json:"rules"`
}

func TestControl(t *testing.T) {
	var set testFaults
	resets := 0
	c := &Control[testFaults, string]{
		Requests: func() []string { return nil },
		Faults:   func() testFaults { return set },
		SetFaults: func(f testFaults) error {
			if len(f.Rules) > 1 {
				return errors.New("one rule at most")
			}
			set = f
			return nil
		},
		Reset:     func() { resets++ },
		ErrorBody: func(status int, msg string) any { return map[string]any{"status": status, "msg": msg} },
	}
	do := func(method, path, body string) (int, string) {
		w := httptest.NewRecorder()
		c.ServeHTTP(w, httptest.NewRequest(method, path, strings.NewReader(body)))
		return w.Code, w.Body.String()
	}
	cases := []struct {
		method, path, body string
		status             int
		want               string
	}{
		{"GET", "/_sim/requests", "", 200, "[]"},
		{"POST", "/_sim/requests", "", 405, "GET only"},
		{"POST", "/_sim/faults", `{"rules":[{"path_prefix":"/a","error_rate":1}]}`, 200, `"/a"`},
		{"GET", "/_sim/faults/", "", 200, `"/a"`},
		{"POST", "/_sim/faults", `{"nope":1}`, 400, "unknown field"},
		{"POST", "/_sim/faults", `{"rules":[{},{}]}`, 400, "one rule at most"},
		{"DELETE", "/_sim/faults", "", 405, "GET or POST"},
		{"POST", "/_sim/reset", "", 200, "reset"},
		{"GET", "/_sim/reset", "", 405, "POST only"},
		{"GET", "/_sim/other", "", 404, "unknown control endpoint /_sim/other"},
	}
	for _, tc := range cases {
		status, body := do(tc.method, tc.path, tc.body)
		if status != tc.status || !strings.Contains(body, tc.want) {
			t.Errorf("%s %s: %d %s, want %d containing %q", tc.method, tc.path, status, body, tc.status, tc.want)
		}
	}
	if resets != 1 {
		t.Errorf("%d resets", resets)
	}
}
