package host

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/renameio/v2"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/zclconf/go-cty/cty"
)

// LockFileName is the lock file `runbook init` writes beside the runbook.
const LockFileName = ".runbook.lock.hcl"

// Lock is the provider part of .runbook.lock.hcl: the plugin binaries a
// runbook was initialised with. Every launch checks the binary against
// it. The file's other blocks (the git modules internal/modules locks)
// belong to others: reading skips them and writing keeps them.
type Lock struct {
	Providers map[string]*LockedProvider
}

// LockedProvider is one `provider "NAME" { ... }` block of the lock file.
type LockedProvider struct {
	Name    string
	Version string // as the plugin's schema reported it
	SHA256  string // hex, of the binary
	Path    string // relative to the runbook's directory when inside it, else absolute
}

// ShortSHA is the first 8 hex digits of the hash, for tables.
func (p *LockedProvider) ShortSHA() string {
	if len(p.SHA256) > 8 {
		return p.SHA256[:8]
	}
	return p.SHA256
}

// ReadLock reads a lock file; a missing file is an empty lock.
func ReadLock(path string) (*Lock, error) {
	src, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return &Lock{Providers: map[string]*LockedProvider{}}, nil
	}
	if err != nil {
		return nil, err
	}
	return ParseLock(src, path)
}

var lockSchema = &hcl.BodySchema{Blocks: []hcl.BlockHeaderSchema{{Type: "provider", LabelNames: []string{"name"}}}}

var lockProviderSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
	{Name: "version", Required: true}, {Name: "sha256", Required: true}, {Name: "path"},
}}

// ParseLock decodes the content of a lock file; filename is for messages.
func ParseLock(src []byte, filename string) (*Lock, error) {
	f, diags := hclsyntax.ParseConfig(src, filename, hcl.InitialPos)
	if diags.HasErrors() {
		return nil, fmt.Errorf("reading the lock file: %s", diags.Error())
	}
	content, _, diags := f.Body.PartialContent(lockSchema)
	if diags.HasErrors() {
		return nil, fmt.Errorf("reading the lock file: %s", diags.Error())
	}
	l := &Lock{Providers: map[string]*LockedProvider{}}
	for _, b := range content.Blocks {
		name := b.Labels[0]
		if l.Providers[name] != nil {
			return nil, fmt.Errorf("%s: provider %q is locked twice", b.DefRange, name)
		}
		bc, diags := b.Body.Content(lockProviderSchema)
		if diags.HasErrors() {
			return nil, fmt.Errorf("reading the lock file: %s", diags.Error())
		}
		p := &LockedProvider{Name: name}
		for attr, dst := range map[string]*string{"version": &p.Version, "sha256": &p.SHA256, "path": &p.Path} {
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
		p.SHA256 = strings.ToLower(p.SHA256)
		if _, err := hex.DecodeString(p.SHA256); err != nil || len(p.SHA256) != 2*sha256.Size {
			return nil, fmt.Errorf("%s: sha256 of provider %q is not a SHA-256 in hex", bc.Attributes["sha256"].Range, name)
		}
		l.Providers[name] = p
	}
	return l, nil
}

// Bytes renders the lock file, providers sorted by name.
func (l *Lock) Bytes() []byte {
	f := hclwrite.NewEmptyFile()
	body := f.Body()
	body.AppendUnstructuredTokens(hclwrite.Tokens{{Type: hclsyntax.TokenComment,
		Bytes: []byte("# This file is maintained by \"runbook init\": it records the provider plugins\n" +
			"# and modules this runbook was initialised with. Commit it; every run checks it.\n")}})
	names := make([]string, 0, len(l.Providers))
	for n := range l.Providers {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		p := l.Providers[n]
		body.AppendNewline()
		b := body.AppendNewBlock("provider", []string{n}).Body()
		b.SetAttributeValue("version", cty.StringVal(p.Version))
		b.SetAttributeValue("sha256", cty.StringVal(p.SHA256))
		if p.Path != "" {
			b.SetAttributeValue("path", cty.StringVal(p.Path))
		}
	}
	return hclwrite.Format(f.Bytes())
}

// WriteLock writes the lock file atomically, keeping the blocks of the
// file already there that are not provider blocks, after the providers.
func WriteLock(path string, l *Lock) error {
	old, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	out, err := l.bytesKeeping(old, path)
	if err != nil {
		return err
	}
	return renameio.WriteFile(path, out, 0o644)
}

// bytesKeeping renders the lock followed by the blocks of old that others
// own, in their order.
func (l *Lock) bytesKeeping(old []byte, filename string) ([]byte, error) {
	out := l.Bytes()
	if len(old) == 0 {
		return out, nil
	}
	prev, diags := hclwrite.ParseConfig(old, filename, hcl.InitialPos)
	if diags.HasErrors() {
		return nil, fmt.Errorf("reading the lock file: %s", diags.Error())
	}
	f, _ := hclwrite.ParseConfig(out, filename, hcl.InitialPos)
	for _, b := range prev.Body().Blocks() {
		if b.Type() != "provider" {
			f.Body().AppendNewline()
			f.Body().AppendBlock(b)
		}
	}
	return hclwrite.Format(f.Bytes()), nil
}

// hashCache remembers the SHA-256 of binaries by path, size and
// modification time, so that launching a plugin again in the same
// process does not read it again (go-plugin's SecureConfig still does,
// right before it starts the process).
var hashCache sync.Map // path -> hashEntry

type hashEntry struct {
	size int64
	mod  time.Time
	sum  string
}

// FileSHA256 returns the hex SHA-256 of the file at path.
func FileSHA256(path string) (string, error) {
	info, err := os.Stat(path)
	if err != nil {
		return "", err
	}
	if e, ok := hashCache.Load(path); ok {
		if e := e.(hashEntry); e.size == info.Size() && e.mod.Equal(info.ModTime()) {
			return e.sum, nil
		}
	}
	sum, err := hashFile(path)
	if err != nil {
		return "", err
	}
	hashCache.Store(path, hashEntry{size: info.Size(), mod: info.ModTime(), sum: sum})
	return sum, nil
}

func hashFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer func() { _ = f.Close() }()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// RelativePath is how the lock file (and `runbook providers`) shows a
// plugin's path: relative to the runbook's directory when the plugin is
// inside it, absolute otherwise.
func RelativePath(runbookDir, path string) string { return lockPath(runbookDir, path) }

func lockPath(runbookDir, path string) string {
	dir, err := filepath.Abs(runbookDir)
	if err != nil {
		return path
	}
	rel, err := filepath.Rel(dir, path)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return path
	}
	return filepath.ToSlash(rel)
}
