package core

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"

	"github.com/runbook-dev/runbook/plugins/provider"
)

// waitDelay bounds how long Wait keeps reading the output pipes after the
// process exited (or was killed): a background child that inherited them
// must not hang the step.
const waitDelay = 2 * time.Second

// cmdSpec is a command to run, from core.exec or core.wait.
type cmdSpec struct {
	argv  []string
	env   map[string]string
	dir   string
	stdin *string
	shell bool
	// quiet suppresses the "running" line and the output lines (wait polls).
	quiet bool
}

// cmdResult is a command that ran to completion (whatever its status).
type cmdResult struct {
	stdout, stderr *capture
	exitCode       int    // -1 when the process was killed by a signal
	signal         string // how it was killed, when exitCode is -1
	elapsed        time.Duration
}

type execArgs struct {
	cmdSpec
	parseJSON bool
	okCodes   []int
}

// parseExec validates core.exec's inputs. Unknown inputs (at plan time)
// are left unset and skipped.
func parseExec(c *call) (*execArgs, error) {
	a := &execArgs{}
	a.shell = c.boolean("shell")
	a.parseJSON = c.boolean("parse_json")
	var err error
	var ok bool
	if a.argv, ok, err = c.strList("command"); err != nil {
		return nil, err
	} else if ok {
		if err := validateArgv(a.argv, "command"); err != nil {
			return nil, err
		}
	}
	if a.env, _, err = c.strMap("env"); err != nil {
		return nil, err
	}
	for k, v := range a.env {
		if k == "" || strings.ContainsAny(k, "=\x00") {
			return nil, attrErr(cty.GetAttrPath("env").Index(cty.StringVal(k)), "%q is not a valid environment variable name", k)
		}
		if strings.ContainsRune(v, 0) {
			return nil, attrErr(cty.GetAttrPath("env").Index(cty.StringVal(k)), "the value of environment variable %s contains a NUL byte", k)
		}
	}
	a.dir, _ = c.str("dir")
	if s, ok := c.str("stdin"); ok {
		a.stdin = &s
	}
	if a.okCodes, _, err = c.intList("ok_exit_codes"); err != nil {
		return nil, err
	}
	return a, nil
}

func validateArgv(argv []string, attr string) error {
	if len(argv) == 0 {
		return attrErr(cty.GetAttrPath(attr), "%q must name a program: it is empty", attr)
	}
	if argv[0] == "" {
		return attrErr(cty.GetAttrPath(attr).IndexInt(0), "%q must name a program: its first element is empty", attr)
	}
	for i, s := range argv {
		if strings.ContainsRune(s, 0) {
			return attrErr(cty.GetAttrPath(attr).IndexInt(i), "element %d of %q contains a NUL byte", i, attr)
		}
	}
	return nil
}

func planExec(_ context.Context, c *call) (cty.Value, error) {
	a, err := parseExec(c)
	if err != nil {
		return cty.NilVal, err
	}
	// json is known to be null when parse_json is known to be false.
	jsonOut := cty.UnknownVal(cty.DynamicPseudoType)
	if c.known("parse_json") && !a.parseJSON {
		jsonOut = cty.NullVal(cty.DynamicPseudoType)
	}
	return cty.ObjectVal(map[string]cty.Value{
		"stdout":    cty.UnknownVal(cty.String),
		"stderr":    cty.UnknownVal(cty.String),
		"exit_code": cty.UnknownVal(cty.Number),
		"json":      jsonOut,
	}), nil
}

func applyExec(ctx context.Context, c *call) (cty.Value, error) {
	a, err := parseExec(c)
	if err != nil {
		return cty.NilVal, err
	}
	res, err := runCommand(ctx, c, &a.cmdSpec)
	if err != nil {
		return cty.NilVal, err
	}
	if res.exitCode != 0 && (res.exitCode < 0 || !slices.Contains(a.okCodes, res.exitCode)) {
		return cty.NilVal, &provider.Error{Message: a.failure(res, c.red), Retryable: true}
	}
	jsonOut := cty.NullVal(cty.DynamicPseudoType)
	if a.parseJSON {
		if jsonOut, err = decodeJSON(res.stdout, "stdout", c.p.opts.MaxOutput); err != nil {
			return cty.NilVal, err
		}
	}
	return cty.ObjectVal(map[string]cty.Value{
		"stdout":    cty.StringVal(res.stdout.String()),
		"stderr":    cty.StringVal(res.stderr.String()),
		"exit_code": cty.NumberIntVal(int64(res.exitCode)),
		"json":      jsonOut,
	}), nil
}

// checkExec cannot observe what a command did. With idempotent = true the
// author declared that running it again is safe: NotApplied re-runs it
// without asking. Otherwise Unknown: the engine asks the operator.
func checkExec(_ context.Context, c *call, _ time.Time) (provider.CheckResult, cty.Value, error) {
	if c.boolean("idempotent") {
		return provider.NotApplied, cty.NilVal, nil
	}
	return provider.Unknown, cty.NilVal, nil
}

// decodeJSON decodes captured output with the type it implies.
func decodeJSON(out *capture, what string, limit int) (cty.Value, error) {
	if out.truncated() {
		return cty.NilVal, provider.Errorf("parse_json: %s is longer than %d bytes, the output cap: it was truncated and cannot be decoded", what, limit)
	}
	v, err := parseJSON(out.head)
	if err != nil {
		return cty.NilVal, attrErr(cty.GetAttrPath("parse_json"), "parse_json: %s is not valid JSON (%s): %s", what, err, snippet(out.head, 200))
	}
	return v, nil
}

// parseJSON decodes any JSON document into the cty value of the type it
// implies (objects become objects, arrays tuples). go-cty's own JSON
// package does this; no need for a hand-written mapping.
func parseJSON(b []byte) (cty.Value, error) {
	ty, err := ctyjson.ImpliedType(b)
	if err != nil {
		return cty.NilVal, err
	}
	return ctyjson.Unmarshal(b, ty)
}

// failure describes a command that ran and failed, with the end of its
// stderr.
func (s *cmdSpec) failure(res *cmdResult, red *redactor) string {
	var msg string
	if res.exitCode < 0 {
		msg = fmt.Sprintf("%s was killed (%s)", s.describe(red), res.signal)
	} else {
		msg = fmt.Sprintf("%s exited with code %d", s.describe(red), res.exitCode)
	}
	if tail := res.stderr.Tail(); tail != "" {
		msg += "; stderr:\n" + tail
	}
	return msg
}

// describe names the command for messages: `command "pg_dump"` or
// `shell command "pg_dump ... | gzip"`, sensitive values redacted.
func (s *cmdSpec) describe(red *redactor) string {
	if len(s.argv) == 0 {
		return "command"
	}
	first := red.Redact(s.argv[0])
	if !s.shell {
		return fmt.Sprintf("command %q", first)
	}
	if i := strings.IndexByte(first, '\n'); i >= 0 {
		first = first[:i] + " ..."
	}
	if r := []rune(first); len(r) > 60 {
		first = string(r[:57]) + "..."
	}
	return fmt.Sprintf("shell command %q", first)
}

// argvDisplay renders the argv actually executed, redacted and quoted.
func argvDisplay(argv []string, red *redactor) string {
	parts := redactAll(red, argv)
	for i, p := range parts {
		parts[i] = fmt.Sprintf("%q", p)
	}
	return "[" + strings.Join(parts, " ") + "]"
}

// runCommand runs a command to completion. It returns an error when the
// command could not start or ctx ended; a non-zero exit is a result.
func runCommand(ctx context.Context, c *call, s *cmdSpec) (*cmdResult, error) {
	if err := ctx.Err(); err != nil {
		return nil, ctxError(ctx, s.describe(c.red))
	}
	name, args := s.argv[0], s.argv[1:]
	if s.shell {
		name, args = "/bin/sh", append([]string{"-c"}, s.argv...)
	}
	if s.dir != "" {
		if fi, err := os.Stat(s.dir); err != nil {
			return nil, attrErr(cty.GetAttrPath("dir"), "working directory: %s", err)
		} else if !fi.IsDir() {
			return nil, attrErr(cty.GetAttrPath("dir"), "working directory %s is not a directory", s.dir)
		}
	}
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = s.dir
	cmd.Env = mergeEnv(provider.InheritedEnv(os.Environ()), s.env)
	if s.stdin != nil {
		cmd.Stdin = strings.NewReader(*s.stdin)
	}
	res := &cmdResult{stdout: newCapture(c.p.opts.MaxOutput), stderr: newCapture(c.p.opts.MaxOutput)}
	cmd.Stdout, cmd.Stderr = res.stdout, res.stderr
	var lines []*lineWriter
	if !s.quiet && c.events != nil {
		outLines := &lineWriter{emit: func(l string) { c.log("debug", "stdout: %s", l) }}
		errLines := &lineWriter{emit: func(l string) { c.log("debug", "stderr: %s", l) }}
		lines = []*lineWriter{outLines, errLines}
		cmd.Stdout = multiWriter{res.stdout, outLines}
		cmd.Stderr = multiWriter{res.stderr, errLines}
	}
	setProcessGroup(cmd)
	cmd.WaitDelay = waitDelay

	if !s.quiet {
		c.log("debug", "running %s", argvDisplay(cmd.Args, c.red))
	}
	start := time.Now()
	err := cmd.Run()
	res.elapsed = time.Since(start)
	for _, l := range lines {
		l.flush()
	}
	if err != nil && ctx.Err() != nil {
		return nil, ctxError(ctx, s.describe(c.red))
	}
	if cmd.Err != nil || (err != nil && cmd.Process == nil) {
		// It never started.
		return nil, startError(s, err, c.red)
	}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		res.exitCode = ee.ExitCode()
		if res.exitCode < 0 {
			res.signal = ee.String()
		}
	case errors.Is(err, exec.ErrWaitDelay):
		// It exited 0 but left a background process holding its output.
		c.log("warn", "%s exited but a background process kept its output open; stopped reading after %s", s.describe(c.red), waitDelay)
	default:
		return nil, &provider.Error{Message: fmt.Sprintf("%s: %s", s.describe(c.red), err), Retryable: true}
	}
	if !s.quiet {
		c.log("debug", "%s exited with code %d after %s", s.describe(c.red), res.exitCode, res.elapsed.Round(time.Millisecond))
	}
	return res, nil
}

// startError explains why a command did not start. A missing program is
// not retryable: retrying will not install it.
func startError(s *cmdSpec, err error, red *redactor) error {
	prog := red.Redact(s.argv[0])
	if s.shell {
		prog = "/bin/sh"
	}
	pe := &provider.Error{Attribute: cty.GetAttrPath("command").IndexInt(0)}
	switch {
	case errors.Is(err, exec.ErrNotFound):
		pe.Message = fmt.Sprintf("program %q not found in PATH", prog)
	case errors.Is(err, os.ErrNotExist):
		pe.Message = fmt.Sprintf("program %q does not exist", prog)
	case errors.Is(err, os.ErrPermission):
		pe.Message = fmt.Sprintf("program %q is not executable (permission denied)", prog)
	default:
		pe.Message = fmt.Sprintf("cannot run program %q: %s", prog, err)
	}
	return pe
}

// mergeEnv returns base with the variables of extra set (replacing any of
// the same name), extra's in sorted order.
func mergeEnv(base []string, extra map[string]string) []string {
	if len(extra) == 0 {
		return base
	}
	out := make([]string, 0, len(base)+len(extra))
	for _, kv := range base {
		k, _, _ := strings.Cut(kv, "=")
		if _, ok := extra[k]; !ok {
			out = append(out, kv)
		}
	}
	keys := make([]string, 0, len(extra))
	for k := range extra {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		out = append(out, k+"="+extra[k])
	}
	return out
}

// multiWriter writes to a capture and a line emitter; neither fails, so
// unlike io.MultiWriter it needs no short-write handling.
type multiWriter struct {
	c *capture
	l *lineWriter
}

func (w multiWriter) Write(p []byte) (int, error) {
	_, _ = w.c.Write(p)
	_, _ = w.l.Write(p)
	return len(p), nil
}
