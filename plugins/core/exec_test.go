//go:build unix

package core_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/runbook-dev/runbook/plugins/core"
	"github.com/runbook-dev/runbook/plugins/provider"
)

func TestExec(t *testing.T) {
	dir := t.TempDir()
	realDir, err := filepath.EvalSymlinks(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("RUNBOOK_CORE_TEST_BASE", "from-environ")
	tests := []struct {
		name       string
		set        map[string]cty.Value
		wantStdout string
		wantStderr string
		wantCode   int64
	}{
		{
			name:       "argv",
			set:        map[string]cty.Value{"command": strs("echo", "hello", "world")},
			wantStdout: "hello world\n",
		},
		{
			name:       "no shell: $HOME is passed literally",
			set:        map[string]cty.Value{"command": strs("echo", "$HOME", "*", "a;b")},
			wantStdout: "$HOME * a;b\n",
		},
		{
			name:       "shell with positional arguments",
			set:        map[string]cty.Value{"command": strs(`echo "$0-$1" | tr a-z A-Z`, "ab", "cd"), "shell": cty.True},
			wantStdout: "AB-CD\n",
		},
		{
			name:       "stdin",
			set:        map[string]cty.Value{"command": strs("cat"), "stdin": cty.StringVal("line 1\nline 2\n")},
			wantStdout: "line 1\nline 2\n",
		},
		{
			name: "env is merged over the environment",
			set: map[string]cty.Value{
				"command": strs("sh", "-c", `printf '%s %s %s' "$RUNBOOK_CORE_TEST_BASE" "$EXTRA" "${PATH:+path-kept}"`),
				"env":     strMap("EXTRA", "extra value"),
			},
			wantStdout: "from-environ extra value path-kept",
		},
		{
			name: "env overrides the environment",
			set: map[string]cty.Value{
				"command": strs("sh", "-c", `printf '%s' "$RUNBOOK_CORE_TEST_BASE"`),
				"env":     strMap("RUNBOOK_CORE_TEST_BASE", "overridden"),
			},
			wantStdout: "overridden",
		},
		{
			name:       "dir",
			set:        map[string]cty.Value{"command": strs("pwd", "-P"), "dir": cty.StringVal(dir)},
			wantStdout: realDir + "\n",
		},
		{
			name:       "stderr",
			set:        map[string]cty.Value{"command": strs("sh", "-c", "echo out; echo err >&2")},
			wantStdout: "out\n",
			wantStderr: "err\n",
		},
		{
			name:       "ok_exit_codes",
			set:        map[string]cty.Value{"command": strs("sh", "-c", "echo partial; exit 3"), "ok_exit_codes": nums(1, 3)},
			wantStdout: "partial\n",
			wantCode:   3,
		},
	}
	p := core.New(core.Options{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := mustApply(t, p, request(t, "exec", tt.set))
			if got := str(t, out, "stdout"); got != tt.wantStdout {
				t.Errorf("stdout = %q, want %q", got, tt.wantStdout)
			}
			if got := str(t, out, "stderr"); got != tt.wantStderr {
				t.Errorf("stderr = %q, want %q", got, tt.wantStderr)
			}
			if got := num(t, out, "exit_code"); got != tt.wantCode {
				t.Errorf("exit_code = %d, want %d", got, tt.wantCode)
			}
			if j := out.GetAttr("json"); !j.IsNull() || j.Type() != cty.DynamicPseudoType {
				t.Errorf("json = %#v, want a null of DynamicPseudoType", j)
			}
			if !out.Type().Equals(core.Schema().Actions["exec"].OutputType()) {
				t.Errorf("output type %#v is not exactly the schema's", out.Type())
			}
		})
	}
}

func TestExecParseJSON(t *testing.T) {
	p := core.New(core.Options{})
	out := mustApply(t, p, request(t, "exec", map[string]cty.Value{
		"command":    strs("echo", `{"id": "abc", "n": 2, "tags": ["a", "b"], "ok": true}`),
		"parse_json": cty.True,
	}))
	j := out.GetAttr("json")
	if got := j.GetAttr("id").AsString(); got != "abc" {
		t.Errorf("json.id = %q", got)
	}
	if got := j.GetAttr("n"); !got.RawEquals(cty.NumberIntVal(2)) {
		t.Errorf("json.n = %#v", got)
	}
	if got := j.GetAttr("tags").LengthInt(); got != 2 {
		t.Errorf("len(json.tags) = %d", got)
	}

	tests := []struct {
		name   string
		stdout string
	}{
		{"invalid", "not json"},
		{"empty", ""},
		{"trailing garbage", `{"a": 1} x`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := apply(t, p, request(t, "exec", map[string]cty.Value{
				"command": strs("printf", "%s", tt.stdout), "parse_json": cty.True,
			}))
			wantErr(t, err, false, "not valid JSON")
		})
	}

	// Output cut at MaxOutput cannot be decoded; the error says why.
	small := core.New(core.Options{MaxOutput: 8})
	_, err := apply(t, small, request(t, "exec", map[string]cty.Value{
		"command": strs("echo", `{"long": "document"}`), "parse_json": cty.True,
	}))
	wantErr(t, err, false, "truncated")
}

func TestExecFailures(t *testing.T) {
	var stderr100 strings.Builder
	for i := 1; i <= 100; i++ {
		fmt.Fprintf(&stderr100, "echo 'problem line %d' >&2; ", i)
	}
	tests := []struct {
		name         string
		set          map[string]cty.Value
		retryable    bool
		contains     []string
		notContains  []string
		wantAttrRoot string
	}{
		{
			name:      "non-zero exit",
			set:       map[string]cty.Value{"command": strs("sh", "-c", "echo 'disk full' >&2; exit 3")},
			retryable: true,
			contains:  []string{`command "sh" exited with code 3`, "disk full"},
		},
		{
			name:      "exit code not listed",
			set:       map[string]cty.Value{"command": strs("sh", "-c", "exit 4"), "ok_exit_codes": nums(3)},
			retryable: true,
			contains:  []string{"code 4"},
		},
		{
			name:        "stderr tail only",
			set:         map[string]cty.Value{"command": strs("sh", "-c", stderr100.String()+"exit 1")},
			retryable:   true,
			contains:    []string{"problem line 100", "problem line 81"},
			notContains: []string{"problem line 80\n", "problem line 1\n"},
		},
		{
			name:      "shell command",
			set:       map[string]cty.Value{"command": strs("echo oops >&2; exit 2"), "shell": cty.True},
			retryable: true,
			contains:  []string{`shell command "echo oops >&2; exit 2" exited with code 2`, "oops"},
		},
		{
			name:      "killed by a signal",
			set:       map[string]cty.Value{"command": strs("sh", "-c", "kill -TERM $$")},
			retryable: true,
			contains:  []string{"killed", "terminated"},
		},
		{
			name:         "missing program",
			set:          map[string]cty.Value{"command": strs("runbook-no-such-program-xyz", "arg")},
			contains:     []string{`"runbook-no-such-program-xyz" not found`},
			wantAttrRoot: "command",
		},
		{
			name:         "missing program by path",
			set:          map[string]cty.Value{"command": strs("/nonexistent/bin/tool")},
			contains:     []string{`"/nonexistent/bin/tool" does not exist`},
			wantAttrRoot: "command",
		},
		{
			name:         "missing dir",
			set:          map[string]cty.Value{"command": strs("true"), "dir": cty.StringVal("/nonexistent/dir")},
			contains:     []string{"working directory", "/nonexistent/dir"},
			wantAttrRoot: "dir",
		},
		{
			name:         "empty command",
			set:          map[string]cty.Value{"command": strs()},
			contains:     []string{"must name a program"},
			wantAttrRoot: "command",
		},
		{
			name:         "invalid env name",
			set:          map[string]cty.Value{"command": strs("true"), "env": strMap("A=B", "x")},
			contains:     []string{"not a valid environment variable name"},
			wantAttrRoot: "env",
		},
		{
			name:         "fractional exit code",
			set:          map[string]cty.Value{"command": strs("true"), "ok_exit_codes": cty.ListVal([]cty.Value{cty.NumberFloatVal(1.5)})},
			contains:     []string{"whole numbers"},
			wantAttrRoot: "ok_exit_codes",
		},
	}
	p := core.New(core.Options{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := apply(t, p, request(t, "exec", tt.set))
			wantErr(t, err, tt.retryable, tt.contains...)
			for _, s := range tt.notContains {
				if strings.Contains(err.Error(), s) {
					t.Errorf("error contains %q: %v", s, err)
				}
			}
			if tt.wantAttrRoot != "" {
				var pe *provider.Error
				errors.As(err, &pe)
				if len(pe.Attribute) == 0 || pe.Attribute[0] != (cty.GetAttrStep{Name: tt.wantAttrRoot}) {
					t.Errorf("Attribute = %#v, want under %s", pe.Attribute, tt.wantAttrRoot)
				}
			}
		})
	}
}

func TestExecTruncation(t *testing.T) {
	p := core.New(core.Options{MaxOutput: 10})
	out := mustApply(t, p, request(t, "exec", map[string]cty.Value{
		"command": strs("sh", "-c", "printf '%0100d' 0; printf '%050d' 0 >&2"),
	}))
	want := strings.Repeat("0", 10) + "\n[... output truncated at 10 bytes]"
	if got := str(t, out, "stdout"); got != want {
		t.Errorf("stdout = %q, want %q", got, want)
	}
	if got := str(t, out, "stderr"); got != want {
		t.Errorf("stderr = %q, want %q", got, want)
	}

	// A cut never splits a UTF-8 sequence: "é" is two bytes.
	p = core.New(core.Options{MaxOutput: 3})
	out = mustApply(t, p, request(t, "exec", map[string]cty.Value{"command": strs("printf", "aéé")}))
	if got := str(t, out, "stdout"); got != "aé\n[... output truncated at 3 bytes]" {
		t.Errorf("stdout = %q", got)
	}
	// Binary output becomes valid UTF-8.
	out = mustApply(t, core.New(core.Options{}), request(t, "exec", map[string]cty.Value{"command": strs("printf", `a\377b`)}))
	if got := str(t, out, "stdout"); got != "a\uFFFDb" {
		t.Errorf("stdout = %q", got)
	}
}

func TestExecSensitiveRedaction(t *testing.T) {
	const secret = "hunter2-s3cr3t"
	tests := []struct {
		name  string
		set   map[string]cty.Value
		paths []cty.Path
	}{
		{
			name: "env value echoed to stderr",
			set: map[string]cty.Value{
				"command": strs("sh", "-c", `echo "login failed with $TOKEN" >&2; exit 1`),
				"env":     strMap("TOKEN", secret),
			},
			paths: []cty.Path{cty.GetAttrPath("env").Index(cty.StringVal("TOKEN"))},
		},
		{
			name:  "whole env map sensitive",
			set:   map[string]cty.Value{"command": strs("sh", "-c", `echo "$TOKEN" >&2; exit 1`), "env": strMap("TOKEN", secret)},
			paths: []cty.Path{cty.GetAttrPath("env")},
		},
		{
			name:  "command element",
			set:   map[string]cty.Value{"command": strs("sh", "-c", `echo "bad password $1" >&2; exit 1`, "sh", secret)},
			paths: []cty.Path{cty.GetAttrPath("command").IndexInt(4)},
		},
		{
			name:  "program name",
			set:   map[string]cty.Value{"command": strs("/nonexistent/" + secret)},
			paths: []cty.Path{cty.GetAttrPath("command").IndexInt(0)},
		},
		{
			name:  "shell script",
			set:   map[string]cty.Value{"command": strs("echo $0 >&2; exit 1", secret), "shell": cty.True},
			paths: []cty.Path{cty.GetAttrPath("command").IndexInt(1)},
		},
		{
			name:  "stdin echoed",
			set:   map[string]cty.Value{"command": strs("sh", "-c", "cat >&2; exit 1"), "stdin": cty.StringVal(secret)},
			paths: []cty.Path{cty.GetAttrPath("stdin")},
		},
		{
			name: "marked value",
			set: map[string]cty.Value{
				"command": strs("sh", "-c", `echo "$TOKEN" >&2; exit 1`),
				"env":     cty.MapVal(map[string]cty.Value{"TOKEN": cty.StringVal(secret).Mark("sensitive")}),
			},
		},
	}
	p := core.New(core.Options{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ev events
			r := request(t, "exec", tt.set)
			r.SensitivePaths = tt.paths
			r.Events = ev.add
			_, err := p.Apply(context.Background(), r)
			if err == nil {
				t.Fatal("no error")
			}
			if strings.Contains(err.Error(), secret) {
				t.Errorf("error leaks the secret: %v", err)
			}
			if !strings.Contains(err.Error(), "(sensitive)") {
				t.Errorf("error does not say what it redacted: %v", err)
			}
			for _, l := range ev.logs() {
				if strings.Contains(l, secret) {
					t.Errorf("event leaks the secret: %s", l)
				}
			}
		})
	}
}

func TestExecEvents(t *testing.T) {
	var ev events
	r := request(t, "exec", map[string]cty.Value{
		"command": strs("sh", "-c", `echo "one"; echo "two" >&2; echo "$1"`, "sh", "pa55word"),
	})
	r.SensitivePaths = []cty.Path{cty.GetAttrPath("command").IndexInt(4)}
	r.Events = ev.add
	mustApply(t, core.New(core.Options{}), r)
	logs := strings.Join(ev.logs(), "\n")
	for _, want := range []string{
		`debug: running ["sh" "-c" "echo \"one\"; echo \"two\" >&2; echo \"$1\"" "sh" "(sensitive)"]`,
		"debug: stdout: one",
		"debug: stderr: two",
		"debug: stdout: (sensitive)",
		`exited with code 0`,
	} {
		if !strings.Contains(logs, want) {
			t.Errorf("events lack %q:\n%s", want, logs)
		}
	}
	if strings.Contains(logs, "pa55word") {
		t.Errorf("events leak the secret:\n%s", logs)
	}
}

// Cancelling the context kills the command and its process group: a
// shell's child would otherwise keep running (and hold the pipes open).
func TestExecCancel(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "pid")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r := request(t, "exec", map[string]cty.Value{
		"command": strs("sh", "-c", `sleep 30 & echo $! > "$1"; wait`, "sh", pidFile),
	})
	type result struct {
		resp *provider.Response
		err  error
	}
	done := make(chan result, 1)
	start := time.Now()
	go func() {
		resp, err := core.New(core.Options{}).Apply(ctx, r)
		done <- result{resp, err}
	}()
	var child int
	waitFor(t, 5*time.Second, "the child's pid", func() bool {
		b, err := os.ReadFile(pidFile)
		if err != nil || !strings.HasSuffix(string(b), "\n") {
			return false
		}
		child, err = strconv.Atoi(strings.TrimSpace(string(b)))
		return err == nil
	})
	cancel()
	select {
	case res := <-done:
		if res.err == nil {
			t.Fatal("no error after cancel")
		}
		wantErr(t, res.err, false, "cancelled")
		if !errors.Is(res.err, context.Canceled) {
			t.Errorf("error %v is not context.Canceled", res.err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Apply did not return after cancel")
	}
	if time.Since(start) > 20*time.Second {
		t.Fatal("the command ran to completion")
	}
	waitFor(t, 5*time.Second, "the grandchild to die", func() bool { return !alive(child) })
}

// alive reports whether pid runs (a zombie waiting for its reaper does not).
func alive(pid int) bool {
	if err := syscall.Kill(pid, 0); err != nil {
		return false
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true // no procfs: trust kill(0)
	}
	s := string(b)
	if i := strings.LastIndexByte(s, ')'); i >= 0 && i+2 < len(s) {
		return s[i+2] != 'Z'
	}
	return true
}

// A background process left holding stdout does not hang the step.
func TestExecBackgroundChild(t *testing.T) {
	t.Parallel() // it waits out the 2s grace period for the pipes
	start := time.Now()
	var ev events
	r := request(t, "exec", map[string]cty.Value{"command": strs("sh", "-c", "sleep 30 & echo $!")})
	r.Events = ev.add
	out := mustApply(t, core.New(core.Options{}), r)
	pid, err := strconv.Atoi(strings.TrimSpace(str(t, out, "stdout")))
	if err != nil {
		t.Fatalf("stdout = %q", str(t, out, "stdout"))
	}
	_ = syscall.Kill(pid, syscall.SIGKILL)
	if d := time.Since(start); d > 15*time.Second {
		t.Errorf("took %s", d)
	}
	if !strings.Contains(strings.Join(ev.logs(), "\n"), "background process") {
		t.Errorf("no warning about the background process: %q", ev.logs())
	}
}

// Plan runs nothing.
func TestExecPlan(t *testing.T) {
	marker := filepath.Join(t.TempDir(), "created")
	p := core.New(core.Options{})
	tests := []struct {
		name      string
		set       map[string]cty.Value
		jsonKnown bool
	}{
		{"plain", map[string]cty.Value{"command": strs("touch", marker)}, true},
		{"parse_json", map[string]cty.Value{"command": strs("touch", marker), "parse_json": cty.True}, false},
		{"shell", map[string]cty.Value{"command": strs("touch " + marker), "shell": cty.True}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := plan(t, p, request(t, "exec", tt.set))
			if err != nil {
				t.Fatal(err)
			}
			if out.GetAttr("stdout").IsKnown() || out.GetAttr("exit_code").IsKnown() {
				t.Errorf("plan predicted outputs it cannot know: %#v", out)
			}
			if j := out.GetAttr("json"); j.IsKnown() != tt.jsonKnown || (tt.jsonKnown && !j.IsNull()) {
				t.Errorf("json = %#v", j)
			}
		})
	}
	assertNoFile(t, marker)

	// Plan validates like Apply.
	_, err := plan(t, p, request(t, "exec", map[string]cty.Value{"command": strs("")}))
	wantErr(t, err, false, "must name a program")
}

// TestExecShellOnlyWhenAsked: without shell = true, core.exec and
// core.wait run an argv. Shell metacharacters reach the program as they
// are, in its arguments and in its name, and nothing they would do is
// done: no expansion, no second command, no file. With shell = true the
// same text is a /bin/sh script.
func TestExecShellOnlyWhenAsked(t *testing.T) {
	dir := t.TempDir()
	pwned := filepath.Join(dir, "pwned")
	t.Setenv("HOME", "/home/runbook-core-test")
	script := "echo $HOME; touch " + pwned
	p := core.New(core.Options{})

	t.Run("arguments", func(t *testing.T) {
		args := []string{script, "`touch " + pwned + "`", "$(touch " + pwned + ")", "a|b", "c&&d", ">" + pwned, "*", "~"}
		for _, shell := range []cty.Value{cty.NullVal(cty.Bool), cty.False} {
			out := mustApply(t, p, request(t, "exec", map[string]cty.Value{
				"command": strs(append([]string{"echo"}, args...)...), "dir": cty.StringVal(dir), "shell": shell,
			}))
			if got, want := str(t, out, "stdout"), strings.Join(args, " ")+"\n"; got != want {
				t.Errorf("shell = %#v: stdout %q, want %q", shell, got, want)
			}
			assertNoFile(t, pwned)
		}
	})
	t.Run("program name", func(t *testing.T) {
		_, err := apply(t, p, request(t, "exec", map[string]cty.Value{"command": strs(script), "dir": cty.StringVal(dir)}))
		wantErr(t, err, false, fmt.Sprintf("program %q does not exist", script))
		assertNoFile(t, pwned)
	})
	t.Run("core.wait", func(t *testing.T) {
		_, err := apply(t, p, request(t, "wait", map[string]cty.Value{
			"command": strs(script), "interval": cty.StringVal("10ms"), "timeout": cty.StringVal("2s"),
		}))
		wantErr(t, err, false, fmt.Sprintf("program %q does not exist", script))
		out := mustApply(t, p, request(t, "wait", map[string]cty.Value{
			"command": strs("test", "-n", script), "interval": cty.StringVal("10ms"), "timeout": cty.StringVal("2s"),
		}))
		if num(t, out, "attempts") != 1 {
			t.Errorf("wait took %d attempts", num(t, out, "attempts"))
		}
		assertNoFile(t, pwned)
	})
	t.Run("shell = true", func(t *testing.T) {
		out := mustApply(t, p, request(t, "exec", map[string]cty.Value{
			"command": strs(script), "shell": cty.True, "dir": cty.StringVal(dir),
		}))
		if got := str(t, out, "stdout"); got != "/home/runbook-core-test\n" {
			t.Errorf("stdout %q, want $HOME expanded", got)
		}
		if _, err := os.Stat(pwned); err != nil {
			t.Errorf("the second command of the script did not run: %v", err)
		}
	})
}

// TestExecDoesNotInheritSecrets: a command does not inherit runbook's
// variables (RUNBOOK_VAR_*: a sensitive one would reach it unmarked and
// its output would be shown in clear), the journal key or the state
// backend's connection string; the rest of the environment, and what env
// sets (even under those names), it gets.
func TestExecDoesNotInheritSecrets(t *testing.T) {
	t.Setenv("RUNBOOK_VAR_pw", "var-secret")
	t.Setenv("RUNBOOK_JOURNAL_KEY", strings.Repeat("ab", 32))
	t.Setenv("RUNBOOK_BACKEND_CONN_STR", "postgres://runbook:conn-secret@127.0.0.1/runbook")
	t.Setenv("RUNBOOK_LOG", "debug")
	t.Setenv("RUNBOOK_CORE_TEST_BASE", "kept")
	p := core.New(core.Options{})
	for _, action := range []string{"exec", "wait"} {
		marker := filepath.Join(t.TempDir(), "env")
		set := map[string]cty.Value{"command": strs("sh", "-c", "env > "+marker)}
		if action == "exec" {
			set["env"] = strMap("RUNBOOK_VAR_explicit", "given")
		}
		mustApply(t, p, request(t, action, set))
		b, err := os.ReadFile(marker)
		if err != nil {
			t.Fatal(err)
		}
		env := string(b)
		for _, leaked := range []string{"var-secret", "abababab", "conn-secret"} {
			if strings.Contains(env, leaked) {
				t.Errorf("core.%s: the command inherited %q:\n%s", action, leaked, env)
			}
		}
		for _, kept := range []string{"RUNBOOK_LOG=debug", "RUNBOOK_CORE_TEST_BASE=kept", "PATH="} {
			if !strings.Contains(env, kept) {
				t.Errorf("core.%s: the command lost %s", action, kept)
			}
		}
		if action == "exec" && !strings.Contains(env, "RUNBOOK_VAR_explicit=given") {
			t.Errorf("core.exec: env did not set RUNBOOK_VAR_explicit")
		}
	}
}
