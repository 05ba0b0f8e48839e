package securitytest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// repoRoot is the module root, from this package's directory.
const repoRoot = "../.."

// pluginLogEnv names the file the plugin wrappers append the plugins'
// stderr to.
const pluginLogEnv = "SECTEST_PLUGIN_LOG"

// commandTimeout bounds one CLI command.
const commandTimeout = 90 * time.Second

var (
	binOnce sync.Once
	bins    *binSet
	binErr  error
)

// binSet is the built runbook binary and the directory of plugin wrappers
// (RUNBOOK_PLUGIN_PATH), or "" when bash is missing and the plugins are
// found beside runbook unwrapped.
type binSet struct {
	dir, runbook, wrappers string
}

func TestMain(m *testing.M) {
	code := m.Run()
	if bins != nil {
		_ = os.RemoveAll(bins.dir)
	}
	os.Exit(code)
}

// binaries builds runbook and every bundled provider
// (plugins/*/cmd/runbook-provider-*, the Makefile's PROVIDER_MAINS) into
// one directory, once per test process, and writes a wrapper for each
// plugin that copies its stderr to $SECTEST_PLUGIN_LOG.
func binaries(t testing.TB) *binSet {
	t.Helper()
	binOnce.Do(func() { bins, binErr = build() })
	if binErr != nil {
		t.Fatalf("building the binaries: %v", binErr)
	}
	return bins
}

func build() (*binSet, error) {
	dir, err := os.MkdirTemp("", "runbook-securitytest-")
	if err != nil {
		return nil, err
	}
	b := &binSet{dir: dir, runbook: filepath.Join(dir, "runbook")}
	mains, err := filepath.Glob(filepath.Join(repoRoot, "plugins", "*", "cmd", "runbook-provider-*", "main.go"))
	if err != nil || len(mains) == 0 {
		return b, fmt.Errorf("no provider mains under plugins/*/cmd: %v", err)
	}
	pkgs := map[string]string{"runbook": "./cmd/runbook"}
	for _, m := range mains {
		d := filepath.Dir(m)
		rel, _ := filepath.Rel(repoRoot, d)
		pkgs[filepath.Base(d)] = "./" + filepath.ToSlash(rel)
	}
	var wg sync.WaitGroup
	errs := make(chan error, len(pkgs))
	for name, pkg := range pkgs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cmd := exec.Command("go", "build", "-o", filepath.Join(dir, name), pkg)
			cmd.Dir = repoRoot
			if out, err := cmd.CombinedOutput(); err != nil {
				errs <- fmt.Errorf("go build %s: %v\n%s", pkg, err, out)
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err, ok := <-errs; ok {
		return b, err
	}
	bash, err := exec.LookPath("bash")
	if err != nil {
		return b, nil // no wrappers: the host's debug log still shows the plugins' lines
	}
	b.wrappers = filepath.Join(dir, "wrappers")
	if err := os.Mkdir(b.wrappers, 0o755); err != nil {
		return b, err
	}
	for name := range pkgs {
		if name == "runbook" {
			continue
		}
		// exec keeps the plugin's PID (go-plugin kills what it started);
		// tee gets every byte of its stderr, trace lines included, which
		// the host itself never shows.
		script := fmt.Sprintf("#!%s\nexec %q \"$@\" 2> >(exec tee -a \"$%s\" >&2)\n", bash, filepath.Join(dir, name), pluginLogEnv)
		if err := os.WriteFile(filepath.Join(b.wrappers, name), []byte(script), 0o755); err != nil {
			return b, err
		}
	}
	return b, nil
}

// cleanEnv is the test process's environment without any RUNBOOK_
// variable (a backend, a journal key, a plugin path or a variable of the
// developer's would change what the runs do).
func cleanEnv() []string {
	var out []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "RUNBOOK_") && !strings.HasPrefix(kv, pluginLogEnv+"=") {
			out = append(out, kv)
		}
	}
	return out
}

// transcript is everything the commands of one case printed.
type transcript struct {
	mu    sync.Mutex
	names []string
	data  map[string][]byte
}

func (tr *transcript) add(name string, b []byte) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	if tr.data == nil {
		tr.data = map[string][]byte{}
	}
	for base, i := name, 2; tr.data[name] != nil; i++ {
		name = fmt.Sprintf("%s#%d", base, i)
	}
	tr.names = append(tr.names, name)
	tr.data[name] = append([]byte(nil), b...)
}

// cli runs the runbook binary in one directory with one environment.
type cli struct {
	t   *testing.T
	bin string
	dir string
	env []string
	out *transcript
	// wrap, when set, runs the binary through it: wrap[0] is the program,
	// then wrap[1:], the binary and its arguments.
	wrap []string
}

type result struct {
	stdout, stderr []byte
	code           int
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, tail(r.stdout), tail(r.stderr))
}

func tail(b []byte) []byte {
	const max = 6000
	if len(b) > max {
		return append([]byte("...\n"), b[len(b)-max:]...)
	}
	return b
}

// run runs `runbook args...` with extra environment, feeding each stdout
// line to onLine (when set) as it comes, and records both streams under
// label.
func (c *cli) run(label string, env []string, onLine func([]byte), args ...string) result {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	defer cancel()
	name, argv := c.bin, args
	if len(c.wrap) > 0 {
		name, argv = c.wrap[0], append(append(append([]string(nil), c.wrap[1:]...), c.bin), args...)
	}
	cmd := exec.CommandContext(ctx, name, argv...)
	cmd.Dir = c.dir
	cmd.Env = append(append([]string(nil), c.env...), env...)
	cmd.WaitDelay = 5 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stderr = &stderr
	pr, pw := io.Pipe()
	cmd.Stdout = pw
	done := make(chan struct{})
	go func() {
		defer close(done)
		r := bufio.NewReader(pr)
		for {
			line, err := r.ReadBytes('\n')
			stdout.Write(line)
			if len(line) > 0 && onLine != nil {
				onLine(bytes.TrimRight(line, "\n"))
			}
			if err != nil {
				_, _ = io.Copy(io.Discard, pr)
				return
			}
		}
	}()
	start := time.Now()
	err := cmd.Run()
	if d := time.Since(start); d > 5*time.Second {
		c.t.Logf("slow: runbook %s took %s", strings.Join(args, " "), d.Round(time.Millisecond))
	}
	_ = pw.Close()
	<-done
	res := result{stdout: stdout.Bytes(), stderr: stderr.Bytes()}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee) && ctx.Err() == nil:
		res.code = ee.ExitCode()
	default:
		c.t.Fatalf("runbook %s: %v (timeout %s)\n%s", strings.Join(args, " "), err, commandTimeout, res)
	}
	c.out.add(label+" stdout", res.stdout)
	c.out.add(label+" stderr", res.stderr)
	return res
}

// mustRun is run that fails the test unless the exit status is want.
func (c *cli) mustRun(label string, want int, env []string, onLine func([]byte), args ...string) result {
	c.t.Helper()
	res := c.run(label, env, onLine, args...)
	if res.code != want {
		c.t.Fatalf("runbook %s: want exit %d, got\n%s", strings.Join(args, " "), want, res)
	}
	return res
}

// needles are what must not be found for a secret. A secret is a head of
// letters and digits, unique to it, and a tail of characters that every
// encoding escapes differently (newSecret): every escaped form (JSON, Go
// or HCL quoting, a URL) keeps the head as it is, so the head is looked
// for, with its hex form and the part of its base64 encoding (standard and
// URL alphabets) that does not depend on what precedes or follows it, at
// each of the three byte alignments: what an Authorization: Basic header,
// a base64-encoded body or a hex dump of the secret would carry.
func needles(secret string) map[string]string {
	head := secret
	if i := strings.IndexFunc(secret, func(r rune) bool {
		return (r < 'a' || r > 'z') && (r < 'A' || r > 'Z') && (r < '0' || r > '9')
	}); i >= 0 {
		head = secret[:i]
	}
	out := map[string]string{"head": head, "hex": hex.EncodeToString([]byte(head))}
	n := len(head)
	for pad := 0; pad < 3; pad++ {
		b := append(make([]byte, pad), head...)
		for name, enc := range map[string]*base64.Encoding{"base64": base64.StdEncoding, "base64url": base64.URLEncoding} {
			s := enc.EncodeToString(b)
			// Character i holds bits [6i, 6i+6); the head is bits
			// [8 pad, 8 (pad+n)).
			first, last := (8*pad+5)/6, (8*(pad+n)-6)/6
			out[fmt.Sprintf("%s@%d", name, pad)] = s[first : last+1]
		}
	}
	return out
}

// leak is one place where a secret was found.
type leak struct {
	where, needle, context string
}

// findLeaks looks for every needle of every secret in data, and for the
// head of each in any case (upper(), lower()).
func findLeaks(where string, data []byte, secrets []string) []leak {
	var out []leak
	lower := bytes.ToLower(data)
	for _, s := range secrets {
		kinds := needles(s)
		names := make([]string, 0, len(kinds))
		for k := range kinds {
			names = append(names, k)
		}
		sort.Strings(names)
		found := func(data []byte, needle, kind string) bool {
			i := bytes.Index(data, []byte(needle))
			if i < 0 {
				return false
			}
			lo, hi := max(0, i-160), min(len(data), i+len(needle)+160)
			out = append(out, leak{where: where, needle: fmt.Sprintf("%s (%s)", s, kind), context: string(data[lo:hi])})
			return true
		}
		exact := false
		for _, k := range names {
			exact = found(data, kinds[k], k) || exact
		}
		if !exact {
			found(lower, strings.ToLower(kinds["head"]), "head in another case")
		}
	}
	return out
}

// scanTree looks for the secrets in every regular file under root but
// those skip accepts, and returns the files it read.
func scanTree(t *testing.T, root string, secrets []string, skip func(path string) bool) ([]leak, []string) {
	t.Helper()
	var leaks []leak
	var files []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.Type().IsRegular() || skip(p) {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		files = append(files, rel)
		leaks = append(leaks, findLeaks("file "+rel, b, secrets)...)
		return nil
	})
	if err != nil {
		t.Fatalf("scanning %s: %v", root, err)
	}
	return leaks, files
}

// copyDir copies a shipped runbook directory, without the state and lock
// file a demo may have left in it.
func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.Name() == ".runbook" || d.Name() == ".runbook.lock.hcl" {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		target := filepath.Join(dst, rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		if !info.Mode().IsRegular() {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, info.Mode().Perm())
	})
	if err != nil {
		t.Fatalf("copying %s: %v", src, err)
	}
}

// deadURL is an http:// URL on loopback where nothing listens.
func deadURL(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	return "http://" + addr
}
