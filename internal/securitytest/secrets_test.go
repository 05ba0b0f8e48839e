package securitytest

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/runbook-dev/runbook/dsl"
	"github.com/runbook-dev/runbook/internal/dockertest"
)

// probeHCL is added to a runbook that declares no sensitive variable: the
// secret then goes through security_probe into a command's environment,
// and the command prints it on stdout and stderr (and, with
// security_probe_exit set, fails with it in the stderr its error quotes).
const probeHCL = `# Added by internal/securitytest: the runbook declares no sensitive
# variable, so the secret goes through this one.
variable "security_probe" {
  type      = string
  sensitive = true
}

variable "security_probe_exit" {
  type    = number
  default = 0
}

step "security_probe" {
  action  = core.exec
  command = ["sh", "-c", "printf 'probe stdout %s\\n' \"$PROBE\"; printf 'probe stderr %s\\n' \"$PROBE\" >&2; exit $0", tostring(var.security_probe_exit)]
  env     = { PROBE = var.security_probe }
}
`

// probeVar is the variable probeHCL declares.
const probeVar = "security_probe"

// rbCase is how one shipped runbook is run.
type rbCase struct {
	// secretVar is the sensitive variable that carries the secret; empty
	// when the runbook declares none (probeHCL is added then).
	secretVar string
	// docker: the runbook needs the Docker engine.
	docker bool
	setup  func(t *testing.T, s *site) *fixture
}

// site is what a case's setup gets.
type site struct {
	work   string // the case's temporary directory
	rb     string // the copy of the runbook, where every command runs
	secret string // the right secret
	wrong  string // a wrong one, for the runs that must fail to log in
}

// fixture is what a case's setup prepared.
type fixture struct {
	vars     []string // -var NAME=VALUE for every run
	env      []string // more environment for every run
	onEvent  func(event)
	failures []failure
	// extra are secrets made at run time (a token a login returns) or
	// given in other sensitive variables: they must not leak either.
	extra []string
}

// failure is a run that must fail.
type failure struct {
	name string
	vars []string // after the fixture's
	env  []string
	// secret is the value of the secret variable for this run (given
	// with -var); the site's right secret when empty.
	secret string
}

// event is the part of a --json event the tests read.
type event struct {
	Type      string `json:"type"`
	Step      string `json:"step"`
	Status    string `json:"status"`
	RunStatus string `json:"run_status"`
	Message   string `json:"message"`
}

// TestSecretsNeverLeak runs every shipped runbook through the CLI with a
// unique secret in a sensitive variable (cases in cases_test.go) and
// looks for it everywhere the runs wrote. See the package comment.
func TestSecretsNeverLeak(t *testing.T) {
	b := binaries(t)
	if b.wrappers == "" {
		t.Log("NOTE: no bash: the plugins' raw stderr is not captured, only what the host logs at debug level")
	}
	names := shippedRunbooks(t)
	for _, name := range names {
		c, ok := cases[name]
		if !ok {
			t.Errorf("%s is shipped but has no case in cases (cases_test.go): add one", name)
			continue
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			runCase(t, b, name, c)
		})
	}
	for name := range cases {
		if !contains(names, name) {
			t.Errorf("cases has %s, which is not a shipped runbook", name)
		}
	}
}

// shippedRunbooks lists runbooks/*/ and runbooks/examples/*/ (those with
// a main.hcl), relative to runbooks/.
func shippedRunbooks(t *testing.T) []string {
	t.Helper()
	root := filepath.Join(repoRoot, "runbooks")
	var out []string
	for _, pattern := range []string{"*/main.hcl", "examples/*/main.hcl"} {
		m, err := filepath.Glob(filepath.Join(root, pattern))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range m {
			rel, _ := filepath.Rel(root, filepath.Dir(f))
			out = append(out, filepath.ToSlash(rel))
		}
	}
	if len(out) == 0 {
		t.Fatalf("no runbook under %s", root)
	}
	sort.Strings(out)
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// secretTail ends every secret: characters that JSON, URLs, Go's %q, HCL
// and shells escape or mangle, so that a secret leaking in any escaped
// form is still found by its letters-and-digits head (see needles). It
// holds no "${" or "%{" (a template in an HCL file) and nothing a test
// double or simulator could not take as a password.
const secretTail = ` "q'<&>%/@:;\+=?#é$`

// newSecret returns a unique secret: "Sec", tag and 24 hex digits, then
// secretTail. It is long enough for every validation (local-backup wants
// 12 characters) and the engine's minimum for redaction.
func newSecret(tag string) string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return "Sec" + tag + hex.EncodeToString(b) + secretTail
}

func runCase(t *testing.T, b *binSet, name string, c rbCase) {
	if c.docker {
		dockertest.Client(t) // skips (or fails under CI=true) without an engine
	}
	s := &site{work: t.TempDir()}
	s.rb = filepath.Join(s.work, "rb")
	copyDir(t, filepath.Join(repoRoot, "runbooks", filepath.FromSlash(name)), s.rb)
	s.secret, s.wrong = newSecret("R"), newSecret("W")

	secretVar := c.secretVar
	if secretVar == "" {
		if err := os.WriteFile(filepath.Join(s.rb, "zz_security_probe.hcl"), []byte(probeHCL), 0o644); err != nil {
			t.Fatal(err)
		}
		secretVar = probeVar
	}
	checkSensitive(t, s.rb, secretVar, c.secretVar == "")

	fx := c.setup(t, s)
	secrets := append([]string{s.secret, s.wrong}, fx.extra...)

	env := append(cleanEnv(),
		"XDG_CACHE_HOME="+filepath.Join(s.work, "cache"),
		"RUNBOOK_LOG=debug",
		pluginLogEnv+"="+filepath.Join(s.work, "plugins-stderr.log"),
	)
	if b.wrappers != "" {
		env = append(env, "RUNBOOK_PLUGIN_PATH="+b.wrappers)
	}
	env = append(env, fx.env...)
	c1 := &cli{t: t, bin: b.runbook, dir: s.rb, env: env, out: &transcript{}}

	var common []string
	if _, err := os.Stat(filepath.Join(s.rb, "drill.vars.hcl")); err == nil {
		common = append(common, "-var-file", "drill.vars.hcl")
	}
	for _, v := range fx.vars {
		common = append(common, "-var", v)
	}
	// plan reads the secret from a variable file, apply from the
	// environment, the failing runs from -var: every way in.
	secretFile := filepath.Join(s.work, "secret.vars.hcl")
	if err := os.WriteFile(secretFile, []byte(fmt.Sprintf("%s = %q\n", secretVar, s.secret)), 0o600); err != nil {
		t.Fatal(err)
	}
	planFile := filepath.Join(s.work, "run.plan")

	c1.mustRun("init", 0, nil, nil, "init")
	c1.mustRun("plan -out", 0, nil, nil, append(append([]string{"plan"}, common...), "-var-file", secretFile, "-out", planFile)...)
	c1.mustRun("plan -json", 0, nil, nil, append(append([]string{"plan", "-json"}, common...), "-var-file", secretFile)...)

	var mu sync.Mutex
	var runStatus string
	onLine := func(line []byte) {
		var ev event
		if json.Unmarshal(line, &ev) != nil {
			return
		}
		if ev.Type == "run_ended" {
			mu.Lock()
			runStatus = ev.RunStatus
			mu.Unlock()
		}
		if fx.onEvent != nil {
			fx.onEvent(ev)
		}
	}
	res := c1.run("apply PLAN --json -v", []string{dsl.EnvPrefix + secretVar + "=" + s.secret}, onLine,
		"apply", "--auto-approve", "--json", "-v", planFile)
	mu.Lock()
	status := runStatus
	mu.Unlock()
	if res.code != 0 || status != "finished" {
		t.Errorf("apply of the plan: run %q, want finished; %s", status, res)
	}
	// The plan file refuses another value of the secret, without showing
	// either.
	res = c1.run("apply PLAN, other secret", []string{dsl.EnvPrefix + secretVar + "=" + s.wrong}, nil,
		"apply", "--auto-approve", "-v", planFile)
	if res.code != 1 || !strings.Contains(string(res.stderr), "differs from the value the plan was made with") {
		t.Errorf("apply of the plan with another secret: %s", res)
	}
	// A dry-run walks every step through the providers' Plan.
	c1.run("apply --dry-run", []string{dsl.EnvPrefix + secretVar + "=" + s.secret}, nil,
		append([]string{"apply", "--dry-run", "--auto-approve", "--json", "-v"}, common...)...)
	c1.mustRun("runs list", 0, nil, nil, "runs", "list", "--state-dir", ".runbook")
	c1.mustRun("runs show", 0, nil, nil, "runs", "show", "last", "--state-dir", ".runbook")
	c1.mustRun("runs show --json", 0, nil, nil, "runs", "show", "last", "--json", "--state-dir", ".runbook")
	c1.mustRun("output --json", 0, nil, nil, "output", "--json", "--state-dir", ".runbook")

	for _, f := range fx.failures {
		secret := f.secret
		if secret == "" {
			secret = s.secret
		}
		args := append(append([]string{"apply", "--auto-approve", "-v"}, common...), "-var", secretVar+"="+secret)
		for _, v := range f.vars {
			args = append(args, "-var", v)
		}
		res := c1.run("apply failing: "+f.name, f.env, nil, args...)
		if res.code != 1 {
			t.Errorf("failing run %s: want exit 1; %s", f.name, res)
			continue
		}
		// The resumed run unseals the secret from the journal; it fails
		// again, the same way or asking for --rerun.
		res = c1.run("resume failing: "+f.name, f.env, nil, "resume", "last", "--auto-approve", "-v", "--state-dir", ".runbook")
		if res.code == 0 {
			t.Errorf("resume of failing run %s succeeded; %s", f.name, res)
		}
		c1.mustRun("runs show failing: "+f.name, 0, nil, nil, "runs", "show", "last", "--json", "--state-dir", ".runbook")
	}

	// The secret file holds the secret on purpose; everything else in the
	// work directory (the runbook copy, its state directory and lock file,
	// the plan file, the plugins' stderr, whatever the runs wrote) must not.
	leaks, files := scanTree(t, s.work, secrets, func(p string) bool { return p == secretFile })
	for _, name := range c1.out.names {
		leaks = append(leaks, findLeaks(name, c1.out.data[name], secrets)...)
	}
	for _, l := range leaks {
		t.Errorf("secret %s leaked into %s:\n...%s...", l.needle, l.where, l.context)
	}
	// The scanner itself must see the secret where it is.
	if raw, _ := os.ReadFile(secretFile); len(findLeaks("", raw, []string{s.secret})) == 0 {
		t.Fatal("the scanner does not find the secret in the file that holds it")
	}
	if _, err := os.Stat(filepath.Join(s.rb, ".runbook", "runs")); err != nil {
		t.Errorf("no journal was written: %v", err)
	}
	t.Logf("scanned %d files and %d command outputs for %d secrets", len(files), len(c1.out.names), len(secrets))
	if testing.Verbose() {
		t.Logf("files: %s", strings.Join(files, " "))
	}
	// init writes a lock file when the runbook uses plugins; their
	// wrappers must then have captured their stderr.
	if b.wrappers != "" && contains(files, filepath.Join("rb", ".runbook.lock.hcl")) && !contains(files, "plugins-stderr.log") {
		t.Error("the runbook uses plugins but none wrote to plugins-stderr.log: the wrappers did not run")
	}
}

// checkSensitive fails unless the runbook in dir declares name as a
// sensitive variable; it notes a runbook that declares none.
func checkSensitive(t *testing.T, dir, name string, probe bool) {
	t.Helper()
	cfg, diags := dsl.NewLoader().Load(dir)
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	v := cfg.Variables[name]
	if v == nil || !v.Sensitive {
		t.Fatalf("%s is not a sensitive variable of the runbook", name)
	}
	if probe {
		var others []string
		for n, v := range cfg.Variables {
			if v.Sensitive && n != probeVar {
				others = append(others, n)
			}
		}
		if len(others) > 0 {
			t.Errorf("the runbook now declares sensitive variables %s: carry the secret in one of them instead of the probe", strings.Join(others, ", "))
		}
		t.Logf("NOTE: the runbook declares no sensitive variable: the secret goes through the added probe step (zz_security_probe.hcl)")
	}
}

// TestSecretsInFunctionErrors: functions that quote their argument in
// their error (tonumber, base64decode) fail on a sensitive variable at
// plan, in a step and in an output at apply; the secret must not show.
// In testdata/fnerror-derived the argument is derived from the variable
// (lower(var.pw)), which no scrubbing of known secrets can catch: the
// functions hide their own error when an argument is sensitive.
func TestSecretsInFunctionErrors(t *testing.T) {
	b := binaries(t)
	for _, dir := range []string{"fnerror", "fnerror-derived"} {
		t.Run(dir, func(t *testing.T) {
			t.Parallel()
			work := t.TempDir()
			rb := filepath.Join(work, "rb")
			copyDir(t, filepath.Join("testdata", dir), rb)
			secret := newSecret("F")
			c := &cli{t: t, bin: b.runbook, dir: rb, out: &transcript{},
				env: append(cleanEnv(), "XDG_CACHE_HOME="+filepath.Join(work, "cache"), "RUNBOOK_LOG=debug", dsl.EnvPrefix+"pw="+secret)}
			c.mustRun("plan", 1, nil, nil, "plan", "-out", filepath.Join(work, "run.plan"))
			c.mustRun("plan -json", 1, nil, nil, "plan", "-json")
			c.mustRun("apply --json", 1, nil, nil, "apply", "--auto-approve", "--json", "-v")
			c.mustRun("apply", 1, nil, nil, "apply", "--auto-approve", "-v")
			c.mustRun("runs show", 0, nil, nil, "runs", "show", "last", "--json", "--state-dir", ".runbook")
			leaks, _ := scanTree(t, work, []string{secret}, func(string) bool { return false })
			for _, name := range c.out.names {
				leaks = append(leaks, findLeaks(name, c.out.data[name], []string{secret})...)
			}
			for _, l := range leaks {
				t.Errorf("secret %s leaked into %s:\n...%s...", l.needle, l.where, l.context)
			}
			if !strings.Contains(string(c.out.data["plan stderr"]), "the value is sensitive") {
				t.Errorf("plan does not fail on the secret:\n%s", c.out.data["plan stderr"])
			}
		})
	}
}

// TestSecretsNotInherited: a command that prints its environment
// (testdata/envdump) shows neither the secret given as RUNBOOK_VAR_pw nor
// the journal key given as RUNBOOK_JOURNAL_KEY: its output is not
// sensitive, so it is shown, and journaled, in clear.
func TestSecretsNotInherited(t *testing.T) {
	b := binaries(t)
	work := t.TempDir()
	rb := filepath.Join(work, "rb")
	copyDir(t, filepath.Join("testdata", "envdump"), rb)
	secret := newSecret("E")
	key := hex.EncodeToString([]byte(newSecret("K")[:32]))
	c := &cli{t: t, bin: b.runbook, dir: rb, out: &transcript{}, env: append(cleanEnv(),
		"XDG_CACHE_HOME="+filepath.Join(work, "cache"), dsl.EnvPrefix+"pw="+secret, "RUNBOOK_JOURNAL_KEY="+key)}
	res := c.mustRun("apply", 0, nil, nil, "apply", "--auto-approve", "-v")
	if !strings.Contains(string(res.stdout), "PATH=") {
		t.Fatalf("the command's environment is not in the outputs:\n%s", res)
	}
	c.mustRun("apply --json", 0, nil, nil, "apply", "--auto-approve", "--json", "-v")
	c.mustRun("output", 0, nil, nil, "output", "--json", "--state-dir", ".runbook")
	leaks, _ := scanTree(t, work, []string{secret, key}, func(string) bool { return false })
	for _, name := range c.out.names {
		leaks = append(leaks, findLeaks(name, c.out.data[name], []string{secret, key})...)
	}
	for _, l := range leaks {
		t.Errorf("secret %s leaked into %s:\n...%s...", l.needle, l.where, l.context)
	}
}
