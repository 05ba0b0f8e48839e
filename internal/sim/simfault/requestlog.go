package simfault

import "sync"

// MaxRecords bounds a RequestLog: a simulator left running for a long
// drill keeps the newest requests.
const MaxRecords = 100_000

// RequestLog is a simulator's log of API requests (GET /_sim/requests),
// safe for concurrent use. The zero value is empty and ready.
type RequestLog[R any] struct {
	mu   sync.Mutex
	recs []R
}

// Add appends r, dropping the oldest record beyond MaxRecords.
func (l *RequestLog[R]) Add(r R) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.recs) >= MaxRecords {
		l.recs = l.recs[1:]
	}
	l.recs = append(l.recs, r)
}

// All returns a copy of the log.
func (l *RequestLog[R]) All() []R {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]R(nil), l.recs...)
}

// Clear empties the log.
func (l *RequestLog[R]) Clear() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.recs = nil
}
