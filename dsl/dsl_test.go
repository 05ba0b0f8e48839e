package dsl_test

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"

	"github.com/runbook-dev/runbook/dsl"
	"github.com/runbook-dev/runbook/plugins/core"
)

var coreSchemas = dsl.Schemas{"core": core.Schema()}

// load loads dir (or a file) and validates it, failing on any error or
// warning but the one for a missing runbook block.
func load(t *testing.T, path string) (*dsl.Loader, *dsl.Config) {
	t.Helper()
	loader := dsl.NewLoader()
	cfg, diags := loader.Load(path)
	if len(diags) > 1 || len(diags) == 1 && diags[0].Summary != "Missing runbook block" {
		t.Fatalf("Load: %s", diags)
	}
	if diags := dsl.Validate(cfg, coreSchemas); len(diags) > 0 {
		t.Fatalf("Validate: %s", diags)
	}
	return loader, cfg
}

// knownSteps gives every step the same known outputs.
type knownSteps map[string]cty.Value

func (k knownSteps) StepValue(name string) cty.Value {
	if v, ok := k[name]; ok {
		return v
	}
	return cty.DynamicVal
}

func noSteps([]string) dsl.StepValues { return knownSteps{} }

// evalOutput evaluates a root output with the given variable values.
func evalOutput(t *testing.T, cfg *dsl.Config, vars map[string]cty.Value, name string) cty.Value {
	t.Helper()
	o := cfg.Outputs[name]
	if o == nil {
		t.Fatalf("no output %q", name)
	}
	v, diags := dsl.NewScope(cfg, vars, noSteps).Eval(o.Value, cty.DynamicPseudoType, nil)
	if diags.HasErrors() {
		t.Fatalf("output %s: %s", name, diags)
	}
	return v
}

func TestLoadDirectoryOfTwoFiles(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"b.hcl": `
step "upload" {
  action  = core.exec
  command = ["upload", step.backup.stdout]
}

output "log" { value = step.upload.stdout }
`,
		"a.hcl": `
runbook "manager-recovery" {
  version     = "1.3.0"
  description = "Replace a crashed manager"
  rto         = "30m"
  required_providers {
    openstack = { source = "runbook-dev/openstack", version = "~> 1.2" }
  }
}

variable "region" { default = "eu-1" }

step "backup" {
  action  = core.exec
  command = ["backup", var.region]
}
`,
		"notes.txt":        "not a runbook file",
		".hidden.hcl":      "this is not HCL and must be ignored {",
		"backup.hcl~":      "editor backup, ignored {",
		"sub/ignored.hcl":  "neither is this {",
		"vars/drill.hcl":   "region = \"eu-2\"\n",
		"steps.hcl.json":   `{"step": {"notify": {"action": "core.exec", "command": ["notify", "${step.upload.stdout}"]}}}`,
		"zz-finally.hcl":   "finally \"cleanup\" {\n  action  = core.exec\n  command = [\"cleanup\"]\n}\n",
		"README.hcl.txt":   "ignored",
		"config.hcl.json~": "ignored",
	})
	_, cfg := load(t, dir)
	var files []string
	for _, f := range cfg.Files {
		files = append(files, filepath.Base(f))
	}
	if got, want := strings.Join(files, " "), "a.hcl b.hcl steps.hcl.json zz-finally.hcl"; got != want {
		t.Errorf("files = %s, want %s", got, want)
	}
	if got, want := strings.Join(cfg.StepOrder, " "), "backup upload notify cleanup"; got != want {
		t.Errorf("steps = %s, want %s", got, want)
	}
	if !cfg.Steps["cleanup"].Finally || cfg.Steps["backup"].Finally {
		t.Error("finally steps are not told apart")
	}
	rb := cfg.Runbook
	if rb == nil || rb.Name != "manager-recovery" || rb.Version != "1.3.0" || rb.RTO != "30m" {
		t.Fatalf("runbook block = %+v", rb)
	}
	if rp := rb.RequiredProviders["openstack"]; rp == nil || rp.Source != "runbook-dev/openstack" || rp.Constraints != "~> 1.2" {
		t.Errorf("required provider = %+v", rp)
	}
	if a := cfg.Steps["notify"].Action; a.String() != "core.exec" {
		t.Errorf("JSON step action = %s", a)
	}
	if cfg.Dir != dir {
		t.Errorf("Dir = %s, want %s", cfg.Dir, dir)
	}
}

func TestVariablePrecedence(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"main.hcl":  `variable "region" { default = "default" }` + "\n" + `variable "zone" { default = "a" }`,
		"one.vars":  `region = "file-one"`,
		"two.vars":  "region = \"file-two\"\nzone = \"c\"\n",
		"zone.json": `{"zone": "from-json"}`,
	})
	loader, cfg := load(t, filepath.Join(dir, "main.hcl"))
	file := func(n string) dsl.VarArg { return dsl.VarArg{File: true, Value: filepath.Join(dir, n)} }
	flag := func(kv string) dsl.VarArg { return dsl.VarArg{Value: kv} }
	tests := []struct {
		name     string
		env      []string
		args     []dsl.VarArg
		region   string
		zoneWant string
	}{
		{"default", nil, nil, "default", "a"},
		{"environment beats default", []string{"RUNBOOK_VAR_region=env", "PATH=/bin", "RUNBOOK_VAR_unknown=x"}, nil, "env", "a"},
		{"var file beats environment", []string{"RUNBOOK_VAR_region=env"}, []dsl.VarArg{file("one.vars")}, "file-one", "a"},
		{"-var beats environment", []string{"RUNBOOK_VAR_region=env"}, []dsl.VarArg{flag("region=flag")}, "flag", "a"},
		{"-var after var file wins", nil, []dsl.VarArg{file("one.vars"), flag("region=flag")}, "flag", "a"},
		{"var file after -var wins", nil, []dsl.VarArg{flag("region=flag"), file("one.vars")}, "file-one", "a"},
		{"last var file wins", nil, []dsl.VarArg{file("two.vars"), file("one.vars")}, "file-one", "c"},
		{"last -var wins", nil, []dsl.VarArg{flag("region=x"), flag("region=y")}, "y", "a"},
		{"JSON var file", []string{"RUNBOOK_VAR_zone=env"}, []dsl.VarArg{file("zone.json")}, "default", "from-json"},
		{"-var value keeps its = signs", nil, []dsl.VarArg{flag("region=a=b")}, "a=b", "a"},
		{"empty -var value", []string{"RUNBOOK_VAR_region=env"}, []dsl.VarArg{flag("region=")}, "", "a"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vals, diags := loader.ResolveVariables(cfg, tt.env, tt.args)
			if len(diags) > 0 {
				t.Fatal(diags)
			}
			if got := vals["region"]; !got.RawEquals(cty.StringVal(tt.region)) {
				t.Errorf("region = %#v, want %q", got, tt.region)
			}
			if got := vals["zone"]; !got.RawEquals(cty.StringVal(tt.zoneWant)) {
				t.Errorf("zone = %#v, want %q", got, tt.zoneWant)
			}
		})
	}
}

func TestSensitiveVariables(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"main.hcl": `
variable "password" {
  type      = string
  sensitive = true
  default   = "admin"
}
variable "token" {
  type      = map(string)
  sensitive = true
  default   = {}
}
variable "user" { default = "admin" }

locals {
  auth = "${var.user}:${var.password}"
}

output "auth" { value = local.auth }
output "user" { value = upper(var.user) }
`,
		"secrets.vars": "password = \"s3cret\"\n",
	})
	loader, cfg := load(t, filepath.Join(dir, "main.hcl"))
	tests := []struct {
		name string
		env  []string
		args []dsl.VarArg
		want string
	}{
		{"default", nil, nil, "admin"},
		{"environment", []string{"RUNBOOK_VAR_password=env"}, nil, "env"},
		{"-var", nil, []dsl.VarArg{{Value: "password=flag"}}, "flag"},
		{"var file", nil, []dsl.VarArg{{File: true, Value: filepath.Join(dir, "secrets.vars")}}, "s3cret"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vals, diags := loader.ResolveVariables(cfg, tt.env, tt.args)
			if len(diags) > 0 {
				t.Fatal(diags)
			}
			pw := vals["password"]
			if !pw.HasMark(dsl.SensitiveMark) {
				t.Fatalf("password %#v is not marked sensitive", pw)
			}
			if v, _ := pw.Unmark(); v.AsString() != tt.want {
				t.Errorf("password = %q, want %q", v.AsString(), tt.want)
			}
			if !vals["token"].HasMark(dsl.SensitiveMark) {
				t.Error("an empty sensitive map is not marked")
			}
			if vals["user"].IsMarked() {
				t.Error("user is marked, but is not sensitive")
			}
			// Marks follow the value through locals and functions.
			if auth := evalOutput(t, cfg, vals, "auth"); !auth.HasMark(dsl.SensitiveMark) {
				t.Errorf("a value derived from a sensitive variable lost its mark: %#v", auth)
			}
			if user := evalOutput(t, cfg, vals, "user"); user.IsMarked() {
				t.Errorf("upper(var.user) is marked: %#v", user)
			}
		})
	}
}

func TestComplexVariableValues(t *testing.T) {
	dir := writeFiles(t, map[string]string{"main.hcl": `
variable "hosts" { type = list(string) }
variable "tags" {
  type    = map(string)
  default = {}
}
variable "server" {
  type = object({
    name  = string
    ports = set(number)
  })
  default = { name = "manager", ports = [443] }
}
variable "note" {
  type    = string
  default = ""
}
variable "anything" { default = null }
`})
	loader, cfg := load(t, dir)
	vals, diags := loader.ResolveVariables(cfg,
		[]string{`RUNBOOK_VAR_tags={ team = "ops", "tier" = 1 }`},
		[]dsl.VarArg{
			{Value: `hosts=["compute-1", "compute-2"]`},
			{Value: `server={ name = "db", ports = [5432, 5432, 22] }`},
			{Value: `note=["not", "parsed"]`},
			{Value: `anything={ a = 1 }`},
		})
	if len(diags) > 0 {
		t.Fatal(diags)
	}
	want := map[string]cty.Value{
		"hosts": cty.ListVal([]cty.Value{cty.StringVal("compute-1"), cty.StringVal("compute-2")}),
		"tags":  cty.MapVal(map[string]cty.Value{"team": cty.StringVal("ops"), "tier": cty.StringVal("1")}),
		"server": cty.ObjectVal(map[string]cty.Value{
			"name":  cty.StringVal("db"),
			"ports": cty.SetVal([]cty.Value{cty.NumberIntVal(22), cty.NumberIntVal(5432)}),
		}),
		// A primitive (or untyped) variable takes the text as it is.
		"note":     cty.StringVal(`["not", "parsed"]`),
		"anything": cty.StringVal(`{ a = 1 }`),
	}
	for name, w := range want {
		if got := vals[name]; !got.RawEquals(w) {
			t.Errorf("%s = %#v, want %#v", name, got, w)
		}
	}
}

func TestTypeDefaultsWithOptionalAttributes(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"main.hcl": `
variable "hosts" {
  type = list(object({
    name     = string
    reserved = optional(bool, false)
    priority = optional(number, 10)
    labels   = optional(map(string))
  }))
  default = [{ name = "compute-1" }, { name = "compute-2", priority = 1 }]
}
`,
		"drill.vars": `hosts = [{ name = "compute-3", reserved = true }]`,
	})
	loader, cfg := load(t, filepath.Join(dir, "main.hcl"))
	host := func(name string, reserved bool, priority int64) cty.Value {
		return cty.ObjectVal(map[string]cty.Value{
			"name": cty.StringVal(name), "reserved": cty.BoolVal(reserved),
			"priority": cty.NumberIntVal(priority), "labels": cty.NullVal(cty.Map(cty.String)),
		})
	}
	tests := []struct {
		name string
		args []dsl.VarArg
		want cty.Value
	}{
		{"default", nil, cty.ListVal([]cty.Value{host("compute-1", false, 10), host("compute-2", false, 1)})},
		{"var file", []dsl.VarArg{{File: true, Value: filepath.Join(dir, "drill.vars")}}, cty.ListVal([]cty.Value{host("compute-3", true, 10)})},
		{"-var", []dsl.VarArg{{Value: `hosts=[{name="compute-4", priority=3}]`}}, cty.ListVal([]cty.Value{host("compute-4", false, 3)})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vals, diags := loader.ResolveVariables(cfg, nil, tt.args)
			if len(diags) > 0 {
				t.Fatal(diags)
			}
			if got := vals["hosts"]; !got.RawEquals(tt.want) {
				t.Errorf("hosts = %#v\nwant %#v", got, tt.want)
			}
		})
	}
}

func TestVariableValidation(t *testing.T) {
	dir := writeFiles(t, map[string]string{"main.hcl": `
variable "replicas" {
  type    = number
  default = 3
  validation {
    condition     = var.replicas >= 1 && var.replicas <= 5
    error_message = "Between 1 and 5 replicas, not ${var.replicas}."
  }
}
variable "password" {
  type      = string
  sensitive = true
  default   = "long enough"
  validation {
    condition     = strlen(var.password) >= 8
    error_message = "The password ${var.password} is too short."
  }
}
`})
	loader, cfg := load(t, dir)
	tests := []struct {
		name       string
		args       []dsl.VarArg
		wantDetail string // "" when the values pass
	}{
		{"defaults pass", nil, ""},
		{"in range", []dsl.VarArg{{Value: "replicas=5"}}, ""},
		{"too many", []dsl.VarArg{{Value: "replicas=9"}}, "Between 1 and 5 replicas, not 9."},
		{"too few", []dsl.VarArg{{Value: "replicas=0"}}, "Between 1 and 5 replicas, not 0."},
		{"sensitive message is hidden", []dsl.VarArg{{Value: "password=short"}}, "The condition failed; its error_message is hidden because it holds a sensitive value."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, diags := loader.ResolveVariables(cfg, nil, tt.args)
			if tt.wantDetail == "" {
				if len(diags) > 0 {
					t.Fatal(diags)
				}
				return
			}
			if len(diags) != 1 {
				t.Fatalf("want one diagnostic, got %s", diags)
			}
			d := diags[0]
			if d.Severity != hcl.DiagError || d.Summary != "Invalid value for variable" || d.Detail != tt.wantDetail {
				t.Errorf("got %q / %q, want \"Invalid value for variable\" / %q", d.Summary, d.Detail, tt.wantDetail)
			}
			if d.Subject == nil || d.Subject.Filename != filepath.Join(dir, "main.hcl") {
				t.Errorf("subject = %v, want the condition in main.hcl", d.Subject)
			}
			if strings.Contains(d.Detail, "short") {
				t.Error("the sensitive value leaked into the message")
			}
		})
	}
}

func TestModuleInputsAndOutput(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"main.hcl": `
variable "env" { default = "prod" }

module "greet" {
  source = "./modules/greet"
  name   = "${var.env}-manager"
  ports  = [80, 443]
}

step "announce" {
  action  = core.exec
  command = ["echo", module.greet.greeting]
}

output "greeting" { value = module.greet.greeting }
output "ports"    { value = module.greet.port_count }
`,
		"modules/greet/main.hcl": `
variable "name" { type = string }
variable "suffix" { default = "!" }
variable "ports" { type = list(number) }

locals {
  text = "hello ${var.name}${var.suffix}"
}

step "check" {
  action = core.http
  url    = "https://${var.name}/health"
}

output "greeting"   { value = local.text }
output "port_count" { value = length(var.ports) }
output "status"     { value = step.check.status }
`,
	})
	loader, cfg := load(t, dir)
	m := cfg.Modules["greet"]
	if m == nil || m.Config == nil {
		t.Fatal("module greet was not loaded")
	}
	if got := strings.Join(m.Config.Path, "."); got != "greet" {
		t.Errorf("module path = %q", got)
	}
	if len(m.Inputs) != 2 || m.Inputs["name"] == nil || m.Inputs["ports"] == nil {
		t.Errorf("module inputs = %v", m.Inputs)
	}
	vals, diags := loader.ResolveVariables(cfg, nil, []dsl.VarArg{{Value: "env=dr"}})
	if len(diags) > 0 {
		t.Fatal(diags)
	}
	if got := evalOutput(t, cfg, vals, "greeting"); !got.RawEquals(cty.StringVal("hello dr-manager!")) {
		t.Errorf("greeting = %#v", got)
	}
	if got := evalOutput(t, cfg, vals, "ports"); !got.RawEquals(cty.NumberIntVal(2)) {
		t.Errorf("ports = %#v", got)
	}
	// The module's steps are evaluated in the module's scope, with the
	// module's step values.
	scope := dsl.NewScope(cfg, vals, func(path []string) dsl.StepValues {
		if len(path) == 1 && path[0] == "greet" {
			return knownSteps{"check": cty.ObjectVal(map[string]cty.Value{"status": cty.NumberIntVal(204)})}
		}
		return knownSteps{}
	})
	child := scope.Child("greet")
	if child == nil {
		t.Fatal("no child scope")
	}
	v, diags := child.Eval(m.Config.Outputs["status"].Value, cty.DynamicPseudoType, nil)
	if diags.HasErrors() || !v.RawEquals(cty.NumberIntVal(204)) {
		t.Errorf("status = %#v, %s", v, diags)
	}
	url, diags := child.DecodeBody(m.Config.Steps["check"].Inputs, m.Config.Steps["check"].InputRefs, core.Schema().Actions["http"].Inputs, nil)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	if got := url.GetAttr("url"); !got.RawEquals(cty.StringVal("https://dr-manager/health")) {
		t.Errorf("url = %#v", got)
	}
}

func TestLocals(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"main.hcl": `
variable "hosts" { default = ["compute-1", "compute-2"] }

locals {
  prefix = "dr"
  names  = [for h in var.hosts : "${local.prefix}-${h}"]
}

locals {
  by_name = { for n in local.names : n => upper(n) }
  count   = length(keys(local.by_name))
  first   = local.names[0]
}

output "by_name" { value = local.by_name }
output "summary" { value = "${local.count} hosts, first ${local.first}" }
`,
	})
	loader, cfg := load(t, dir)
	vals, diags := loader.ResolveVariables(cfg, nil, nil)
	if len(diags) > 0 {
		t.Fatal(diags)
	}
	want := cty.ObjectVal(map[string]cty.Value{
		"dr-compute-1": cty.StringVal("DR-COMPUTE-1"), "dr-compute-2": cty.StringVal("DR-COMPUTE-2"),
	})
	if got := evalOutput(t, cfg, vals, "by_name"); !got.RawEquals(want) {
		t.Errorf("by_name = %#v", got)
	}
	if got := evalOutput(t, cfg, vals, "summary"); !got.RawEquals(cty.StringVal("2 hosts, first dr-compute-1")) {
		t.Errorf("summary = %#v", got)
	}
	if len(cfg.Locals) != 5 {
		t.Errorf("%d locals, want 5", len(cfg.Locals))
	}
}

func TestFunctions(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"main.hcl":        `runbook "f" { version = "1.0.0" }`,
		"data.txt":        "hello\n",
		"greet.tmpl":      "Hello ${name}!%{ for s in items } ${upper(s)}%{ endfor }",
		"recursive.tmpl":  `${templatefile("greet.tmpl", {})}`,
		"sub/nested.tmpl": "nested ${value}",
	})
	_, cfg := load(t, dir)
	scope := dsl.NewScope(cfg, nil, noSteps)
	tests := []struct {
		expr    string
		want    cty.Value
		wantErr string // a substring of the error, when one is expected
	}{
		{expr: `file("data.txt")`, want: cty.StringVal("hello\n")},
		{expr: `file("${path.module}/data.txt")`, want: cty.StringVal("hello\n")},
		{expr: `templatefile("greet.tmpl", { name = "ops", items = ["a", "b"] })`, want: cty.StringVal("Hello ops! A B")},
		{expr: `templatefile("sub/nested.tmpl", { value = 42 })`, want: cty.StringVal("nested 42")},
		{expr: `sha256("hello")`, want: cty.StringVal("2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824")},
		{expr: `sha256(file("data.txt"))`, want: cty.StringVal("5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03")},
		{expr: `base64encode("hello")`, want: cty.StringVal("aGVsbG8=")},
		{expr: `base64decode(base64encode("round trip"))`, want: cty.StringVal("round trip")},
		{expr: `jsonencode({ a = 1, b = ["x", true] })`, want: cty.StringVal(`{"a":1,"b":["x",true]}`)},
		{expr: `jsondecode("{\"a\": [1, 2]}").a[1]`, want: cty.NumberIntVal(2)},
		{expr: `jsondecode(jsonencode({ k = "v" })).k`, want: cty.StringVal("v")},
		{expr: `strlen(uuid())`, want: cty.NumberIntVal(36)},
		{expr: `format("%s-%03d", "host", 7)`, want: cty.StringVal("host-007")},
		{expr: `try(jsondecode("not json"), "fallback")`, want: cty.StringVal("fallback")},
		{expr: `length(["a", "b"])`, want: cty.NumberIntVal(2)},
		{expr: `file("missing.txt")`, wantErr: "no file exists"},
		{expr: `templatefile("recursive.tmpl", {})`, wantErr: "templatefile"},
		{expr: `templatefile("greet.tmpl", "not a map")`, wantErr: "map or an object"},
		{expr: `no_such_function(1)`, wantErr: "no function named"},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			expr, diags := hclsyntax.ParseExpression([]byte(tt.expr), filepath.Join(dir, "main.hcl"), hcl.InitialPos)
			if diags.HasErrors() {
				t.Fatal(diags)
			}
			got, diags := scope.Eval(expr, cty.DynamicPseudoType, nil)
			if tt.wantErr != "" {
				if !diags.HasErrors() || !strings.Contains(diags.Error(), tt.wantErr) {
					t.Fatalf("want an error containing %q, got %#v, %v", tt.wantErr, got, diags)
				}
				return
			}
			if diags.HasErrors() {
				t.Fatal(diags)
			}
			if !got.RawEquals(tt.want) {
				t.Errorf("= %#v, want %#v", got, tt.want)
			}
		})
	}

	t.Run("timestamp", func(t *testing.T) {
		expr, _ := hclsyntax.ParseExpression([]byte(`timestamp()`), "t.hcl", hcl.InitialPos)
		before := time.Now().UTC().Truncate(time.Second)
		v, diags := scope.Eval(expr, cty.String, nil)
		if diags.HasErrors() {
			t.Fatal(diags)
		}
		ts, err := time.Parse(time.RFC3339, v.AsString())
		if err != nil {
			t.Fatalf("timestamp() = %q: %v", v.AsString(), err)
		}
		if !strings.HasSuffix(v.AsString(), "Z") || ts.Before(before) || ts.After(time.Now().Add(time.Second)) {
			t.Errorf("timestamp() = %q is not the current UTC time", v.AsString())
		}
	})
}

// TestLengthAsInTerraform is known defect D12: `length` is cty's
// collection length, while Terraform's (whose names the function table
// follows) also counts the characters of a string and the attributes of an
// object, as in `length(var.password) >= 8` or `length({ for ... })`.
func TestLengthAsInTerraform(t *testing.T) {
	scope := dsl.NewScope(&dsl.Config{Dir: t.TempDir()}, nil, noSteps)
	for expr, want := range map[string]int64{
		`length("héllo")`:                          5,
		`length({ a = 1, b = "x" })`:               2,
		`length({ for s in ["a", "b"] : s => s })`: 2,
	} {
		e, diags := hclsyntax.ParseExpression([]byte(expr), "t.hcl", hcl.InitialPos)
		if diags.HasErrors() {
			t.Fatal(diags)
		}
		got, diags := scope.Eval(e, cty.Number, nil)
		if diags.HasErrors() {
			t.Skipf("known defect D12: %s: %s", expr, diags[0].Detail)
		}
		if !got.RawEquals(cty.NumberIntVal(want)) {
			t.Errorf("%s = %#v, want %d", expr, got, want)
		}
	}
}

// TestCompleteRunbookValidates loads a runbook that uses every construct
// of the language: it must validate without a diagnostic.
func TestCompleteRunbookValidates(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"main.hcl": `
runbook "everything" {
  version     = "2.1.0-rc.1"
  description = "Every construct once"
  rto         = "1h30m"
  required_providers {
    openstack = "~> 1.2"
  }
}

variable "servers" {
  type    = map(string)
  default = { api = "10.0.0.1" }
}
variable "token" {
  type      = string
  sensitive = true
  default   = "t"
  validation {
    condition     = length(var.token) > 0
    error_message = "Empty token."
  }
}

locals {
  url = "https://manager/${run.id}"
}

provider "core" {
  alias = "local"
}

step "check" {
  action   = core.http
  provider = core.local
  url      = local.url
  headers  = { Authorization = "Bearer ${var.token}" }
  timeout  = "30s"
  confirm  = "Check ${local.url}?"
  retry {
    attempts  = 3
    delay     = "1s"
    backoff   = 2
    max_delay = "10s"
  }
  precondition {
    condition     = var.token != ""
    error_message = "No token."
  }
  postcondition {
    condition     = self.status == 200
    error_message = "Status ${self.status}."
  }
}

step "restart" {
  for_each   = var.servers
  action     = core.exec
  command    = ["ssh", each.value, "systemctl restart ${each.key}"]
  when       = step.check.status == 200
  depends_on = [step.check, module.verify]
  postcondition {
    condition     = self.exit_code == 0
    error_message = "${each.key} did not restart."
  }
}

step "wait" {
  action   = core.wait
  url      = "https://${step.restart["api"].stdout}"
  interval = "5s"
}

finally "report" {
  action  = core.exec
  command = ["report", path.root, path.cwd, run.status]
}

finally "report_again" {
  action     = core.exec
  command    = ["report", step.report.stdout]
  depends_on = [step.report]
}

module "verify" {
  source = "./modules/verify"
  url    = local.url
}

output "status" { value = step.check.status }
output "verify" {
  value     = module.verify.digest
  sensitive = true
}
`,
		"modules/verify/main.hcl": `
variable "url" { type = string }

step "fetch" {
  action = core.checksum
  path   = "${path.module}/${sha256(var.url)}"
}

output "digest" { value = step.fetch.sha256 }
`,
	})
	load(t, dir)
}
