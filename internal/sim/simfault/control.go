package simfault

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
)

// Control serves the control endpoints both simulators expose:
// GET /_sim/requests, GET|POST /_sim/faults and POST /_sim/reset. They need
// no authentication and are never logged. F is the simulator's fault set,
// R its request record.
type Control[F, R any] struct {
	Requests  func() []R
	Faults    func() F
	SetFaults func(F) error
	Reset     func()
	// ErrorBody is a control error in the simulated API's own error shape.
	ErrorBody func(status int, msg string) any
}

func (c *Control[F, R]) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch strings.TrimSuffix(r.URL.Path, "/") {
	case "/_sim/requests":
		if r.Method != http.MethodGet {
			c.fail(w, http.StatusMethodNotAllowed, "GET only")
			return
		}
		reqs := c.Requests()
		if reqs == nil {
			reqs = []R{}
		}
		writeJSON(w, http.StatusOK, reqs)
	case "/_sim/faults":
		c.serveFaults(w, r)
	case "/_sim/reset":
		if r.Method != http.MethodPost {
			c.fail(w, http.StatusMethodNotAllowed, "POST only")
			return
		}
		c.Reset()
		writeJSON(w, http.StatusOK, map[string]any{"status": "reset"})
	default:
		c.fail(w, http.StatusNotFound, "unknown control endpoint "+r.URL.Path)
	}
}

func (c *Control[F, R]) serveFaults(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet:
		writeJSON(w, http.StatusOK, c.Faults())
	case http.MethodPost, http.MethodPut:
		var f F
		dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&f); err != nil && !errors.Is(err, io.EOF) {
			c.fail(w, http.StatusBadRequest, "faults: "+err.Error())
			return
		}
		if err := c.SetFaults(f); err != nil {
			c.fail(w, http.StatusBadRequest, err.Error())
			return
		}
		writeJSON(w, http.StatusOK, f)
	default:
		c.fail(w, http.StatusMethodNotAllowed, "GET or POST")
	}
}

func (c *Control[F, R]) fail(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, c.ErrorBody(status, msg))
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, _ := json.MarshalIndent(v, "", "  ")
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}
