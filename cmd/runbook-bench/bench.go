package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"time"
)

// bench is one harness run: the binaries it built, the peers it found,
// and where it writes.
type bench struct {
	cfg       config
	work      string
	runbook   string            // the runbook binary, built from this repository
	pluginDir string            // holds runbook-provider-test
	tools     map[string]string // phase -> its program on PATH
	progress  io.Writer
}

// benchmark builds runbook and the test plugin, measures every shape and
// phase asked for, and returns the report. An interrupt stops it between
// runs with what it has measured so far.
func benchmark(ctx context.Context, cfg config, progress io.Writer) (*report, error) {
	var shapes []shapeCase
	for _, name := range cfg.shapes {
		sc, err := newShape(name, cfg.scale)
		if err != nil {
			return nil, err
		}
		shapes = append(shapes, sc)
	}
	work, err := os.MkdirTemp(cfg.workDir, "runbook-bench-")
	if err != nil {
		return nil, err
	}
	if cfg.keep {
		fmt.Fprintf(progress, "Keeping the generated files and state in %s.\n", work)
	} else {
		defer func() { _ = os.RemoveAll(work) }() // a leftover temporary directory is no reason to fail
	}
	b := &bench{cfg: cfg, work: work, progress: progress}
	if err := b.build(ctx); err != nil {
		return nil, err
	}
	rep := newReport(ctx, cfg, work)
	rep.Tools = b.findTools(ctx)
	for _, sc := range shapes {
		for _, p := range selected(cfg.phases) {
			if ctx.Err() != nil {
				break
			}
			rep.Results = append(rep.Results, b.measureCell(ctx, sc, p))
		}
	}
	rep.finish(ctx)
	return rep, nil
}

// selected returns the phases named, in table order.
func selected(names []string) []phase {
	var out []phase
	for _, p := range allPhases() {
		if slices.Contains(names, p.name) {
			out = append(out, p)
		}
	}
	return out
}

// build compiles runbook and the test plugin with the go command on PATH,
// as the tests' runbookBinary does: the current working tree, not bin/.
func (b *bench) build(ctx context.Context) error {
	b.runbook = filepath.Join(b.work, "bin", "runbook")
	b.pluginDir = filepath.Join(b.work, "plugins")
	for _, t := range [][2]string{
		{b.runbook, "github.com/runbook-dev/runbook/cmd/runbook"},
		{filepath.Join(b.pluginDir, "runbook-provider-test"), "github.com/runbook-dev/runbook/plugins/host/internal/testplugin"},
	} {
		out, err := exec.CommandContext(ctx, "go", "build", "-o", t[0], t[1]).CombinedOutput()
		if err != nil {
			return fmt.Errorf("go build %s: %v\n%s", t[1], err, out)
		}
	}
	return nil
}

// findTools looks up each selected peer's program and its version.
func (b *bench) findTools(ctx context.Context) map[string]string {
	b.tools = map[string]string{}
	versions := map[string]string{"runbook": goVersion(ctx)}
	for _, p := range selected(b.cfg.phases) {
		if p.tool == "" {
			continue
		}
		path, err := exec.LookPath(p.tool)
		if err != nil {
			continue
		}
		b.tools[p.name] = path
		versions[p.name] = toolVersion(ctx, path)
	}
	return versions
}

// measureCell sets up one phase of one shape and measures it.
func (b *bench) measureCell(ctx context.Context, sc shapeCase, p phase) result {
	id := cellID{Shape: sc.name, Label: sc.label, Steps: sc.n, Phase: p.name, Tool: p.tool, Note: p.note}
	if id.Tool == "" {
		id.Tool = "runbook"
	}
	c := cell{sc: sc, dir: filepath.Join(b.work, sc.name, p.name), tool: b.tools[p.name]}
	if p.tool != "" && c.tool == "" {
		return result{cellID: id, Status: "missing"}
	}
	fmt.Fprintf(b.progress, "%s, %s: setting up\n", sc.label, p.name)
	r := b.setupAndMeasure(ctx, c, p)
	r.cellID = id
	if r.Status != "ok" {
		fmt.Fprintf(b.progress, "%s, %s: %s %s\n", sc.label, p.name, r.Status, r.Error)
	}
	return r
}

func (b *bench) setupAndMeasure(ctx context.Context, c cell, p phase) result {
	if err := os.MkdirAll(c.dir, 0o755); err != nil {
		return result{Status: "error", Error: err.Error()}
	}
	j, err := p.setup(ctx, b, c)
	if err != nil {
		status := "error"
		if errors.Is(err, errTimeout) {
			status = "timeout"
		}
		return result{Status: status, Error: "setup: " + err.Error()}
	}
	return measure(ctx, b.cfg, j, func(i int, s sample) {
		fmt.Fprintf(b.progress, "%s, %s: run %d/%d %.3f s, %.0f MB\n", c.sc.label, p.name, i+1, b.cfg.repeat,
			s.wall.Seconds(), float64(s.maxRSS)/(1<<20))
	})
}

// toolVersion is the first line a program prints for its version.
func toolVersion(ctx context.Context, path string) string {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	arg := "--version"
	if base := filepath.Base(path); base == "terraform" || base == "tofu" {
		arg = "version"
	}
	cmd := exec.CommandContext(ctx, path, arg)
	cmd.Env = append(cleanEnv(), "CHECKPOINT_DISABLE=1")
	out, _ := cmd.Output()
	return firstLine(string(out))
}
