package dsl_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/runbook-dev/runbook/dsl"
)

// varsFixture declares a variable of each kind the variable parser treats
// differently: primitive (a -var or environment value is taken literally),
// complex (parsed as an HCL expression), an object with an optional
// attribute and its default, one without a type, sensitive ones, and one
// with a validation.
const varsFixture = `
variable "s" {
  type    = string
  default = "x"
}
variable "n" {
  type    = number
  default = 1
}
variable "b" {
  type    = bool
  default = false
}
variable "l" {
  type    = list(string)
  default = []
}
variable "m" {
  type    = map(number)
  default = {}
}
variable "o" {
  type    = object({ a = string, b = optional(number, 3) })
  default = { a = "x" }
}
variable "any" {
  default = null
}
variable "secret" {
  type      = string
  sensitive = true
  default   = "x"
}
variable "creds" {
  type      = map(string)
  sensitive = true
  default   = {}
}
variable "v" {
  type    = string
  default = "ok"
  validation {
    condition     = length(var.v) < 100
    error_message = "v is too long."
  }
}
`

// leakMark, inside the value of a sensitive variable given with -var,
// must not come back in a diagnostic's message.
const leakMark = "Zq9LEAKq9Z"

// FuzzParseVar feeds arbitrary values to the variable parser: a -var
// NAME=VALUE (also given as the environment variable RUNBOOK_VAR_NAME=VALUE)
// and a variable file (HCL, or JSON when asJSON), resolved against
// varsFixture. Nothing may panic or hang. Without errors, every variable
// has a value of its declared type, sensitive ones (and only they) are
// marked, and a -var for the string variable is taken literally. A
// sensitive variable's -var value never appears in a diagnostic's summary
// or detail (they are printed, and journaled by the engine).
//
//	go test ./dsl -run '^$' -fuzz '^FuzzParseVar$' -fuzztime 60s -fuzzminimizetime 1s
func FuzzParseVar(f *testing.F) {
	dir := f.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "main.hcl"), []byte(varsFixture), 0o644); err != nil {
		f.Fatal(err)
	}
	cfg, diags := dsl.NewLoader().Load(dir)
	if diags.HasErrors() {
		f.Fatal(diags.Error())
	}
	drills, _ := filepath.Glob(filepath.Join("..", "runbooks", "*", "drill.vars.hcl"))
	for _, p := range drills {
		if b, err := os.ReadFile(p); err == nil {
			f.Add("s=hello world", b, false)
		}
	}
	f.Add(`l=["a", "b"]`, []byte("n = 2\nb = true\n"), false)
	f.Add(`m={a = 1, "b" = 2.5}`, []byte(`{"o": {"a": "y", "b": 4}, "any": [1, "x"]}`), true)
	f.Add(`creds={user = "u", password = "`+leakMark+`"}`, []byte(`{"m": {"a": 1}}`), true)
	f.Add(`creds={user = "u", password = `+leakMark+`}`, []byte("s = 1\n"), false)
	f.Add(`creds=["`+leakMark+`"]`, []byte("l = [\"a\"]\n"), false)
	f.Add("secret="+leakMark, []byte(`o = { a = "x", b = "nan" }`), false)
	f.Add(`o={a = "x", b = "`+leakMark+`"}`, []byte("v = \"ok\"\n"), false)
	f.Add("n=not a number", []byte("undeclared = 1\n"), false)
	f.Add("v="+strings.Repeat("x", 200), []byte("any = {a = [1, {b = null}]}\n"), false)
	f.Add("=x", []byte("s = \"${1 + 1}\"\n"), false)
	f.Add("nodecl=1", []byte("s = var.n\n"), false)
	f.Add("any=[[[[[[[[[[1]]]]]]]]]]", []byte(`{"s": [}`), true)
	work := f.TempDir()
	f.Fuzz(func(t *testing.T, flag string, file []byte, asJSON bool) {
		path := filepath.Join(work, "fuzz.vars.hcl")
		if asJSON {
			path = filepath.Join(work, "fuzz.vars.json")
		}
		if err := os.WriteFile(path, file, 0o644); err != nil {
			t.Fatal(err)
		}
		var vals map[string]cty.Value
		var diags hcl.Diagnostics
		within(t, 10*time.Second, func() {
			vals, diags = dsl.NewLoader().ResolveVariables(cfg, []string{dsl.EnvPrefix + flag},
				[]dsl.VarArg{{File: true, Value: path}, {Value: flag}})
		})
		name, value, isVar := strings.Cut(flag, "=")
		if isVar && (name == "secret" || name == "creds") && strings.Contains(value, leakMark) {
			for _, d := range diags {
				if strings.Contains(d.Summary+d.Detail, leakMark) {
					t.Fatalf("a diagnostic shows the sensitive value of var.%s: %s: %s", name, d.Summary, d.Detail)
				}
			}
		}
		if diags.HasErrors() {
			return
		}
		for n, decl := range cfg.Variables {
			v, ok := vals[n]
			if !ok || v == cty.NilVal {
				t.Fatalf("var.%s has no value and no error", n)
			}
			if decl.Sensitive != v.HasMark(dsl.SensitiveMark) {
				t.Fatalf("var.%s: sensitive %v, marked %v", n, decl.Sensitive, v.HasMark(dsl.SensitiveMark))
			}
			raw, _ := v.UnmarkDeep()
			if !decl.Sensitive && v.ContainsMarked() {
				t.Fatalf("var.%s holds a marked value: %#v", n, v)
			}
			if decl.Type != cty.DynamicPseudoType && !raw.Type().Equals(decl.Type.WithoutOptionalAttributesDeep()) {
				t.Fatalf("var.%s is a %s, declared %s", n, raw.Type().FriendlyName(), decl.Type.FriendlyName())
			}
		}
		if isVar && name == "s" {
			if raw, _ := vals["s"].Unmark(); raw.IsNull() || raw.AsString() != value {
				t.Fatalf("-var %q gave var.s = %#v, want the literal string", flag, raw)
			}
		}
	})
}
