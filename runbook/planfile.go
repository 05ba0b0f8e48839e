package runbook

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/google/renameio/v2"
	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"

	"github.com/runbook-dev/runbook/dsl"
)

// PlanFormatVersion versions both `plan -json` and plan files; see
// docs/plan-json.md. A reader refuses a newer major version.
const PlanFormatVersion = "1.0"

// JSONPlan is the documented JSON form of a plan.
type JSONPlan struct {
	FormatVersion   string               `json:"format_version"`
	Runbook         *JSONRunbook         `json:"runbook,omitempty"`
	Steps           []JSONStep           `json:"steps"`
	Outputs         map[string]JSONValue `json:"outputs"`
	CriticalPath    []string             `json:"critical_path"`
	EstimateSeconds float64              `json:"estimate_seconds"`
	UntimedSteps    int                  `json:"untimed_steps"`
	RTOSeconds      float64              `json:"rto_seconds,omitempty"`
}

// JSONRunbook identifies the runbook.
type JSONRunbook struct {
	Name        string `json:"name"`
	Version     string `json:"version,omitempty"`
	Description string `json:"description,omitempty"`
	RTO         string `json:"rto,omitempty"`
}

// JSONStep is one planned step or for_each item.
type JSONStep struct {
	Address        string               `json:"address"`
	Action         string               `json:"action"`
	Finally        bool                 `json:"finally"`
	Mutating       bool                 `json:"mutating"`
	DependsOn      []string             `json:"depends_on"`
	Inputs         map[string]JSONValue `json:"inputs"`
	When           string               `json:"when,omitempty"`
	Skip           string               `json:"skip,omitempty"`
	ForEachKeys    []string             `json:"for_each_keys,omitempty"`
	ForEach        string               `json:"for_each,omitempty"`
	TimeoutSeconds float64              `json:"timeout_seconds,omitempty"`
	Confirm        string               `json:"confirm,omitempty"`
	Retry          *JSONRetry           `json:"retry,omitempty"`
}

// JSONRetry is a step's retry policy.
type JSONRetry struct {
	Attempts        int     `json:"attempts"`
	DelaySeconds    float64 `json:"delay_seconds"`
	Backoff         float64 `json:"backoff"`
	MaxDelaySeconds float64 `json:"max_delay_seconds,omitempty"`
}

// JSONValue is a value: its rendering, and the value itself when it is
// known and not sensitive.
type JSONValue struct {
	Display   string          `json:"display"`
	Value     json.RawMessage `json:"value,omitempty"`
	Known     bool            `json:"known"`
	Sensitive bool            `json:"sensitive"`
}

// JSON converts the plan to its documented JSON form.
func (p *Plan) JSON() *JSONPlan {
	out := &JSONPlan{
		FormatVersion: PlanFormatVersion, Outputs: map[string]JSONValue{},
		CriticalPath: p.CriticalPath, EstimateSeconds: p.Estimate.Seconds(),
		UntimedSteps: p.Untimed, RTOSeconds: p.RTO.Seconds(), Steps: []JSONStep{},
	}
	if rb := p.Runbook; rb != nil {
		out.Runbook = &JSONRunbook{Name: rb.Name, Version: rb.Version, Description: rb.Description, RTO: rb.RTO}
	}
	for _, s := range p.Steps {
		js := JSONStep{
			Address: s.Addr, Action: s.Action, Finally: s.Finally, Mutating: s.Mutating,
			DependsOn: append([]string{}, s.DependsOn...), Inputs: map[string]JSONValue{},
			When: s.When, Skip: s.Skip, ForEachKeys: s.Items, ForEach: s.ForEach,
			TimeoutSeconds: s.Timeout.Seconds(), Confirm: s.Confirm,
		}
		if r := s.Retry; r != nil {
			js.Retry = &JSONRetry{Attempts: r.Attempts, DelaySeconds: r.Delay.Seconds(), Backoff: r.Backoff, MaxDelaySeconds: r.MaxDelay.Seconds()}
		}
		for _, in := range s.Inputs {
			js.Inputs[in.Name] = jsonValue(in)
		}
		out.Steps = append(out.Steps, js)
	}
	for _, o := range p.Outputs {
		out.Outputs[o.Name] = jsonValue(o)
	}
	return out
}

func jsonValue(v *PlannedValue) JSONValue {
	jv := JSONValue{Display: v.Display, Known: v.Known, Sensitive: v.Sensitive}
	if v.Value != cty.NilVal {
		if b, err := (ctyjson.SimpleJSONValue{Value: v.Value}).MarshalJSON(); err == nil {
			jv.Value = b
		}
	}
	return jv
}

// PlanFile is what `plan -out FILE` saves and `apply FILE` reads: the plan,
// the hash of every runbook file it came from, and the variable values.
// Sensitive values are not stored: only their hash, so that apply can
// check that the values it is given again are the planned ones.
type PlanFile struct {
	FormatVersion string                  `json:"format_version"`
	CreatedAt     time.Time               `json:"created_at"`
	Dir           string                  `json:"dir"`
	Files         map[string]string       `json:"files"`
	Variables     map[string]PlanVariable `json:"variables"`
	Plan          *JSONPlan               `json:"plan"`
}

// PlanVariable is a variable value in a plan file.
type PlanVariable struct {
	Type      json.RawMessage `json:"type"`
	Value     json.RawMessage `json:"value,omitempty"`
	Sensitive bool            `json:"sensitive,omitempty"`
	// Salt and SHA256 identify a sensitive value without storing it; the
	// salt keeps equal secrets in two plan files from hashing alike.
	Salt   string `json:"salt,omitempty"`
	SHA256 string `json:"sha256,omitempty"`
}

// NewPlanFile prepares the plan file of plan, made from cfg (and its
// modules) with vars.
func NewPlanFile(cfg *dsl.Config, vars map[string]cty.Value, plan *Plan) (*PlanFile, error) {
	pf := &PlanFile{
		FormatVersion: PlanFormatVersion, CreatedAt: time.Now().UTC(), Files: map[string]string{},
		Variables: map[string]PlanVariable{}, Plan: plan.JSON(),
	}
	dir, err := filepath.Abs(cfg.Dir)
	if err != nil {
		return nil, err
	}
	pf.Dir = dir
	if pf.Files, err = HashFiles(cfg); err != nil {
		return nil, err
	}
	for name, v := range vars {
		pv, err := planVariable(v)
		if err != nil {
			return nil, fmt.Errorf("variable %q: %w", name, err)
		}
		pf.Variables[name] = pv
	}
	return pf, nil
}

func planVariable(v cty.Value) (PlanVariable, error) {
	raw, marks := v.UnmarkDeep()
	ty, err := ctyjson.MarshalType(raw.Type())
	if err != nil {
		return PlanVariable{}, err
	}
	val, err := ctyjson.Marshal(raw, raw.Type())
	if err != nil {
		return PlanVariable{}, err
	}
	if len(marks) > 0 {
		salt := make([]byte, 16)
		if _, err := rand.Read(salt); err != nil {
			return PlanVariable{}, err
		}
		return PlanVariable{Type: ty, Sensitive: true, Salt: hex.EncodeToString(salt), SHA256: saltedHash(salt, val)}, nil
	}
	return PlanVariable{Type: ty, Value: val}, nil
}

func saltedHash(salt, val []byte) string {
	h := sha256.New()
	h.Write(salt)
	h.Write(val)
	return hex.EncodeToString(h.Sum(nil))
}

// HashFiles returns the sha256 of every file of cfg and its modules, keyed
// by path relative to cfg.Dir.
func HashFiles(cfg *dsl.Config) (map[string]string, error) {
	out := map[string]string{}
	var walk func(c *dsl.Config) error
	walk = func(c *dsl.Config) error {
		for _, f := range c.Files {
			b, err := os.ReadFile(f)
			if err != nil {
				return err
			}
			rel, err := filepath.Rel(cfg.Dir, f)
			if err != nil {
				rel = f
			}
			sum := sha256.Sum256(b)
			out[filepath.ToSlash(rel)] = hex.EncodeToString(sum[:])
		}
		for _, name := range c.ModuleOrder {
			if m := c.Modules[name]; m.Config != nil {
				if err := walk(m.Config); err != nil {
					return err
				}
			}
		}
		return nil
	}
	return out, walk(cfg)
}

// Write saves the plan file with mode 0600: it may name hosts and paths.
func (pf *PlanFile) Write(path string) error {
	b, err := json.MarshalIndent(pf, "", "  ")
	if err != nil {
		return err
	}
	// renameio writes a fresh 0600 temporary file beside path, syncs it and
	// renames it over path: never a partial or world-readable plan. Not
	// renameio.WriteFile: it keeps the mode of a file it replaces (its
	// WithExistingPermissions wins over WithStaticPermissions), so a 0644
	// file in the way would leave a 0644 plan.
	f, err := renameio.NewPendingFile(path, renameio.WithStaticPermissions(0o600))
	if err != nil {
		return err
	}
	defer func() { _ = f.Cleanup() }()
	if _, err := f.Write(append(b, '\n')); err != nil {
		return err
	}
	return f.CloseAtomicallyReplace()
}

// ReadPlanFile reads a plan file and refuses one from a newer format.
func ReadPlanFile(path string) (*PlanFile, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var pf PlanFile
	if err := json.Unmarshal(b, &pf); err != nil {
		return nil, fmt.Errorf("%s is not a runbook plan file: %w", path, err)
	}
	if pf.FormatVersion == "" || pf.FormatVersion[0] != PlanFormatVersion[0] {
		return nil, fmt.Errorf("%s has plan format %q; this runbook reads format %s", path, pf.FormatVersion, PlanFormatVersion)
	}
	return &pf, nil
}

// Planned returns the plan's stored (non-sensitive) variable values.
func (pf *PlanFile) Planned() (map[string]cty.Value, error) {
	out := map[string]cty.Value{}
	for name, pv := range pf.Variables {
		if pv.Sensitive {
			continue
		}
		ty, err := ctyjson.UnmarshalType(pv.Type)
		if err != nil {
			return nil, fmt.Errorf("variable %q: %w", name, err)
		}
		if out[name], err = ctyjson.Unmarshal(pv.Value, ty); err != nil {
			return nil, fmt.Errorf("variable %q: %w", name, err)
		}
	}
	return out, nil
}

// Vars returns the variable values to apply the plan with: the planned
// values, and for sensitive ones the values given again now (they are not
// stored), which must match the planned hashes. A value given now that
// differs from a planned one is refused: the plan runs as it was made.
func (pf *PlanFile) Vars(given map[string]cty.Value) (map[string]cty.Value, error) {
	out := make(map[string]cty.Value, len(pf.Variables))
	for name, pv := range pf.Variables {
		ty, err := ctyjson.UnmarshalType(pv.Type)
		if err != nil {
			return nil, fmt.Errorf("variable %q: %w", name, err)
		}
		if !pv.Sensitive {
			v, err := ctyjson.Unmarshal(pv.Value, ty)
			if err != nil {
				return nil, fmt.Errorf("variable %q: %w", name, err)
			}
			if g, ok := given[name]; ok {
				if eq, _ := g.UnmarkDeep(); !eq.RawEquals(v) {
					return nil, fmt.Errorf("variable %q is given a value that differs from the plan's; make a new plan to change it", name)
				}
			}
			out[name] = v
			continue
		}
		v, ok := given[name]
		raw, _ := v.UnmarkDeep()
		if !ok || !raw.IsWhollyKnown() {
			return nil, fmt.Errorf("the sensitive variable %q is not stored in plan files: give it again (-var, -var-file or %s%s)", name, dsl.EnvPrefix, name)
		}
		b, err := ctyjson.Marshal(raw, raw.Type())
		salt, _ := hex.DecodeString(pv.Salt)
		if err != nil || saltedHash(salt, b) != pv.SHA256 {
			return nil, fmt.Errorf("the sensitive variable %q differs from the value the plan was made with", name)
		}
		out[name] = v
	}
	return out, nil
}

// ChangedFiles lists the runbook files that differ from when the plan was
// made (changed, added or removed), sorted.
func (pf *PlanFile) ChangedFiles(cfg *dsl.Config) ([]string, error) {
	now, err := HashFiles(cfg)
	if err != nil {
		return nil, err
	}
	var changed []string
	for f, sum := range pf.Files {
		if now[f] != sum {
			changed = append(changed, f)
		}
	}
	for f := range now {
		if _, ok := pf.Files[f]; !ok {
			changed = append(changed, f)
		}
	}
	sort.Strings(changed)
	return changed, nil
}
