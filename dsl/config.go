package dsl

import (
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/ext/typeexpr"
	"github.com/zclconf/go-cty/cty"
)

// Config is one runbook (the root) or one module: the decoded content of every
// *.hcl file in a directory. Expressions stay unevaluated.
type Config struct {
	// Dir is the directory the files were read from; file() and
	// templatefile() resolve relative paths against it.
	Dir string
	// Files lists the source files in the order they were read.
	Files []string
	// Path is the module path from the root: nil for the root, ["restore"]
	// for module "restore", ["restore", "inner"] for a module inside it.
	Path []string

	Runbook   *RunbookBlock
	Variables map[string]*Variable
	Locals    map[string]*Local
	Providers map[string]*Provider // keyed by ProviderKey: "name" or "name.alias"
	Steps     map[string]*Step     // regular and finally steps share one namespace
	StepOrder []string             // step names in declaration order
	Outputs   map[string]*Output
	Modules   map[string]*Module
	// ModuleOrder lists module names in declaration order so that walks
	// over the module tree are deterministic.
	ModuleOrder []string
}

// RunbookBlock is the `runbook "name" { ... }` header.
type RunbookBlock struct {
	Name              string
	Version           string
	Description       string
	RTO               string
	RequiredProviders map[string]*RequiredProvider
	// Backend is the backend block; nil means the default, local state
	// beside the runbook. Only the root runbook's counts.
	Backend   *Backend
	DeclRange hcl.Range
	RTORange  hcl.Range
}

// RequiredProvider is one entry of `required_providers`.
type RequiredProvider struct {
	Name        string
	Source      string
	Constraints string // go-version constraint string, "" for any
	DeclRange   hcl.Range
}

// Variable is a `variable` block.
type Variable struct {
	Name         string
	Description  string
	Type         cty.Type // cty.DynamicPseudoType when no type was given
	TypeDefaults *typeexpr.Defaults
	Default      cty.Value // cty.NilVal when the variable is required
	Sensitive    bool
	Validations  []*Check
	DeclRange    hcl.Range
}

// Required reports whether the variable has no default.
func (v *Variable) Required() bool { return v.Default == cty.NilVal }

// Check is a `validation`, `precondition` or `postcondition` block.
type Check struct {
	Condition    hcl.Expression
	ErrorMessage hcl.Expression
	DeclRange    hcl.Range
}

// Local is one attribute of a `locals` block.
type Local struct {
	Name      string
	Expr      hcl.Expression
	DeclRange hcl.Range
}

// Provider is a `provider` block: the configuration of one provider instance.
type Provider struct {
	Name   string
	Alias  string
	Config hcl.Body
	// ConfigRefs are the traversals in Config, found once at decode time.
	ConfigRefs []hcl.Traversal
	DeclRange  hcl.Range
}

// Key is how steps and the provider map address this configuration.
func (p *Provider) Key() string { return ProviderKey(p.Name, p.Alias) }

// ProviderKey joins a provider name and alias as in `openstack.dr`.
func ProviderKey(name, alias string) string {
	if alias == "" {
		return name
	}
	return name + "." + alias
}

// ActionRef names an action of a provider, written `provider.action`.
type ActionRef struct {
	Provider string
	Action   string
	Range    hcl.Range
}

func (a ActionRef) String() string { return a.Provider + "." + a.Action }

// Step is a `step` or `finally` block.
type Step struct {
	Name    string
	Finally bool
	Action  ActionRef
	// ProviderAlias selects an aliased provider configuration (the
	// `provider = openstack.dr` meta-argument); "" means the default one.
	ProviderAlias  string
	DependsOn      []hcl.Traversal
	When           hcl.Expression // nil when absent
	ForEach        hcl.Expression // nil when absent
	Timeout        hcl.Expression // nil when absent
	Confirm        hcl.Expression // nil when absent
	Retry          *Retry
	Preconditions  []*Check
	Postconditions []*Check
	// Inputs is what remains of the block once the meta-arguments are
	// taken out: the action's attributes and nested blocks.
	Inputs hcl.Body
	// InputRefs are the traversals in Inputs, found once at decode time.
	InputRefs []hcl.Traversal
	DeclRange hcl.Range
	NameRange hcl.Range
	// SrcRange covers the whole block, header to closing brace.
	SrcRange hcl.Range
}

// ProviderKey is the key of the provider configuration the step uses.
func (s *Step) ProviderKey() string { return ProviderKey(s.Action.Provider, s.ProviderAlias) }

// Kind is "step" or "finally", as written in the source.
func (s *Step) Kind() string {
	if s.Finally {
		return "finally"
	}
	return "step"
}

// Retry is a step's `retry` block; every field is an expression evaluated
// when the step runs (so it may use variables).
type Retry struct {
	Attempts  hcl.Expression
	Delay     hcl.Expression
	Backoff   hcl.Expression
	MaxDelay  hcl.Expression
	DeclRange hcl.Range
}

// Output is an `output` block.
type Output struct {
	Name        string
	Description string
	Value       hcl.Expression
	Sensitive   bool
	DeclRange   hcl.Range
}

// Module is a `module` block with its loaded child configuration.
type Module struct {
	Name        string
	Source      string
	SourceRange hcl.Range
	// Version is the version constraint that picks a tag of a git source,
	// "" when absent; VersionRange is where it is written.
	Version      string
	VersionRange hcl.Range
	// Inputs are the remaining attributes: values for the child's variables.
	Inputs hcl.Attributes
	// DependsOn makes every step of the module wait for these steps or
	// modules of the calling config.
	DependsOn []hcl.Traversal
	Config    *Config
	DeclRange hcl.Range
}
