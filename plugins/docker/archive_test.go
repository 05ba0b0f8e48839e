package docker

import (
	"sync"
	"testing"
	"time"

	"github.com/runbook-dev/runbook/plugins/sdk"
)

// Names match as the daemon normalizes them; IDs by a prefix long enough
// not to be a tag.
func TestArchiveHas(t *testing.T) {
	const hex = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	a := &archive{manifest: []manifestEntry{
		{Config: hex + ".json", RepoTags: []string{"app:latest", "registry.example.com:5000/team/api:2"}},
		{Config: "blobs/sha256/fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"},
	}}
	for name, want := range map[string]bool{
		"app": true, "app:latest": true, "docker.io/library/app": true, "docker.io/library/app:latest": true,
		"registry.example.com:5000/team/api:2": true, "registry.example.com:5000/team/api": false,
		"app:1": false, "other": false,
		"sha256:" + hex: true, hex: true, hex[:12]: true, "sha256:" + hex[:12]: true, hex[:11]: false,
		"fedcba987654": true, "sha256:fedcba9876543210": true, "0123456789ab0": false,
	} {
		if got := a.has(name); got != want {
			t.Errorf("has(%q) = %v, want %v", name, got, want)
		}
	}
	if ids := a.ids(); len(ids) != 2 || ids[0] != "sha256:"+hex || ids[1] != "sha256:fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210" {
		t.Errorf("ids %v", ids)
	}
}

type countingReporter struct {
	mu     sync.Mutex
	events [][2]int64
}

func (r *countingReporter) Log(sdk.Level, string) {}
func (r *countingReporter) Progress(done, total int64, _ string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, [2]int64{done, total})
}

// Byte progress is throttled in time, whatever the number of writes, and
// the last report is the total count.
func TestProgressThrottle(t *testing.T) {
	r := &countingReporter{}
	start := time.Now()
	p := newProgress(r, 0)
	for range 100000 {
		_, _ = p.Write(make([]byte, 10))
	}
	p.finish()
	elapsed := time.Since(start)
	if limit := int(elapsed/progressEvery) + 2; len(r.events) > limit {
		t.Errorf("%d reports in %s, want at most %d", len(r.events), elapsed, limit)
	}
	if last := r.events[len(r.events)-1]; last != [2]int64{1000000, 0} {
		t.Errorf("last report %v, want 1000000 of an unknown total", last)
	}
}
