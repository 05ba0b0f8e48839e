package modules

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"regexp"
	"slices"

	"github.com/google/renameio/v2"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/zclconf/go-cty/cty"
)

// LockFileName is the lock file beside the root runbook. plugins/host
// owns its provider blocks and this package its module blocks; each keeps
// the other's blocks when it rewrites the file.
const LockFileName = ".runbook.lock.hcl"

// Locked is one `module "KEY" { ... }` block of the lock file: what init
// chose for a git module, so that every later init installs that commit.
type Locked struct {
	Key     string // the module path joined with dots: "restore.upload"
	Source  string // as written in the module block
	Version string // the version constraint as written, "" for none
	Ref     string // the tag chosen, or the ref or branch installed
	Commit  string // 40 hex digits
}

// ShortCommit is the first 8 hex digits of the commit, for messages.
func (l *Locked) ShortCommit() string { return l.Commit[:min(8, len(l.Commit))] }

// Lock is the module part of the lock file, by key.
type Lock map[string]*Locked

var lockSchema = &hcl.BodySchema{Blocks: []hcl.BlockHeaderSchema{{Type: "module", LabelNames: []string{"key"}}}}

var lockModuleSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
	{Name: "source", Required: true}, {Name: "version"}, {Name: "ref"}, {Name: "commit", Required: true},
}}

var commitHash = regexp.MustCompile(`^[0-9a-f]{40}$`)

// ReadLock reads the module blocks of a lock file; a missing file is an
// empty lock.
func ReadLock(path string) (Lock, error) {
	src, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return Lock{}, nil
	}
	if err != nil {
		return nil, err
	}
	return ParseLock(src, path)
}

// ParseLock decodes the module blocks of a lock file and ignores the
// others (the providers'); filename is for messages.
func ParseLock(src []byte, filename string) (Lock, error) {
	f, diags := hclsyntax.ParseConfig(src, filename, hcl.InitialPos)
	if diags.HasErrors() {
		return nil, fmt.Errorf("reading the lock file: %s", diags.Error())
	}
	content, _, diags := f.Body.PartialContent(lockSchema)
	if diags.HasErrors() {
		return nil, fmt.Errorf("reading the lock file: %s", diags.Error())
	}
	l := Lock{}
	for _, b := range content.Blocks {
		m, err := decodeLocked(b)
		if err != nil {
			return nil, err
		}
		if l[m.Key] != nil {
			return nil, fmt.Errorf("%s: module %q is locked twice", b.DefRange, m.Key)
		}
		l[m.Key] = m
	}
	return l, nil
}

func decodeLocked(b *hcl.Block) (*Locked, error) {
	bc, diags := b.Body.Content(lockModuleSchema)
	if diags.HasErrors() {
		return nil, fmt.Errorf("reading the lock file: %s", diags.Error())
	}
	m := &Locked{Key: b.Labels[0]}
	for attr, dst := range map[string]*string{"source": &m.Source, "version": &m.Version, "ref": &m.Ref, "commit": &m.Commit} {
		a := bc.Attributes[attr]
		if a == nil {
			continue
		}
		v, diags := a.Expr.Value(nil)
		if diags.HasErrors() || v.Type() != cty.String || v.IsNull() {
			return nil, fmt.Errorf("%s: %s must be a string", a.Range, attr)
		}
		*dst = v.AsString()
	}
	if !commitHash.MatchString(m.Commit) {
		return nil, fmt.Errorf("%s: commit of module %q is not a 40-digit hex commit hash", bc.Attributes["commit"].Range, m.Key)
	}
	return m, nil
}

const lockHeader = "# This file is maintained by \"runbook init\": it records the provider plugins\n" +
	"# and modules this runbook was initialised with. Commit it; every run checks it.\n"

// Bytes renders old (the lock file as it is, nil for none) with its module
// blocks replaced by l's, sorted by key, and every other block kept.
func (l Lock) Bytes(old []byte) ([]byte, error) {
	f, diags := hclwrite.ParseConfig(old, LockFileName, hcl.InitialPos)
	if diags.HasErrors() {
		return nil, fmt.Errorf("reading the lock file: %s", diags.Error())
	}
	body := f.Body()
	if len(old) == 0 {
		body.AppendUnstructuredTokens(hclwrite.Tokens{{Type: hclsyntax.TokenComment, Bytes: []byte(lockHeader)}})
	}
	for _, b := range body.Blocks() {
		if b.Type() == "module" {
			body.RemoveBlock(b)
		}
	}
	for _, key := range slices.Sorted(maps.Keys(l)) {
		m := l[key]
		body.AppendNewline()
		b := body.AppendNewBlock("module", []string{key}).Body()
		b.SetAttributeValue("source", cty.StringVal(m.Source))
		b.SetAttributeValue("version", cty.StringVal(m.Version))
		b.SetAttributeValue("ref", cty.StringVal(m.Ref))
		b.SetAttributeValue("commit", cty.StringVal(m.Commit))
	}
	out := blankLines.ReplaceAll(hclwrite.Format(f.Bytes()), []byte("\n\n"))
	return append(bytes.TrimRight(out, "\n"), '\n'), nil
}

// blankLines collapses the gaps that removed blocks leave behind.
var blankLines = regexp.MustCompile(`\n{3,}`)

// WriteLock replaces the module blocks of the lock file at path with l's,
// atomically. It leaves a runbook without git modules and without a lock
// file as it is.
func WriteLock(path string, l Lock) error {
	old, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) && len(l) == 0 {
		return nil
	}
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	out, err := l.Bytes(old)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return renameio.WriteFile(path, out, 0o644)
}
