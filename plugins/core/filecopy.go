package core

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/google/renameio/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/runbook-dev/runbook/plugins/provider"
)

type copyArgs struct {
	source, dest string
	mode         *os.FileMode // nil: the source's mode
}

func parseFileCopy(c *call) (*copyArgs, error) {
	a := &copyArgs{}
	var ok bool
	if a.source, ok = c.str("source"); ok && a.source == "" {
		return nil, attrErr(cty.GetAttrPath("source"), "source is empty")
	}
	if a.dest, ok = c.str("destination"); ok && a.dest == "" {
		return nil, attrErr(cty.GetAttrPath("destination"), "destination is empty")
	}
	if s, ok := c.str("mode"); ok {
		m, err := parseMode(s)
		if err != nil {
			return nil, attrErr(cty.GetAttrPath("mode"), "mode: %s", err)
		}
		a.mode = &m
	}
	return a, nil
}

// parseMode reads octal permissions: "0600", "600", "0o600", "4755".
func parseMode(s string) (os.FileMode, error) {
	t := strings.TrimSpace(s)
	t = strings.TrimPrefix(strings.TrimPrefix(t, "0o"), "0O")
	n, err := strconv.ParseUint(t, 8, 32)
	if err != nil || t == "" || n > 0o7777 {
		return 0, errors.New(strconv.Quote(s) + " is not an octal file mode such as \"0644\"")
	}
	m := os.FileMode(n & 0o777)
	if n&0o4000 != 0 {
		m |= os.ModeSetuid
	}
	if n&0o2000 != 0 {
		m |= os.ModeSetgid
	}
	if n&0o1000 != 0 {
		m |= os.ModeSticky
	}
	return m, nil
}

// modeBits keeps what chmod sets.
func modeBits(m os.FileMode) os.FileMode {
	return m & (os.ModePerm | os.ModeSetuid | os.ModeSetgid | os.ModeSticky)
}

// target is where the copy goes: destination, or a file named like the
// source inside it when destination is an existing directory (as cp does).
// It only reads the file system.
func (a *copyArgs) target() string {
	if fi, err := os.Stat(a.dest); err == nil && fi.IsDir() {
		return filepath.Join(a.dest, filepath.Base(a.source))
	}
	return a.dest
}

// sameFile reports whether source and target are one file (the same path,
// or two names of one inode).
func sameFile(source, target string) bool {
	if filepath.Clean(source) == filepath.Clean(target) {
		return true
	}
	si, err1 := os.Stat(source)
	ti, err2 := os.Stat(target)
	return err1 == nil && err2 == nil && os.SameFile(si, ti)
}

// planFileCopy predicts the destination path (known from the inputs and a
// stat); the digest and size are unknown until the copy, since an earlier
// step may still produce or change the source.
func planFileCopy(_ context.Context, c *call) (cty.Value, error) {
	a, err := parseFileCopy(c)
	if err != nil {
		return cty.NilVal, err
	}
	path := cty.UnknownVal(cty.String)
	if c.known("source") && c.known("destination") {
		t := a.target()
		if sameFile(a.source, t) {
			return cty.NilVal, attrErr(cty.GetAttrPath("destination"), "cannot copy %s onto itself", a.source)
		}
		path = cty.StringVal(t)
	}
	return cty.ObjectVal(map[string]cty.Value{
		"path":   path,
		"sha256": cty.UnknownVal(cty.String),
		"size":   cty.UnknownVal(cty.Number),
	}), nil
}

// applyFileCopy writes the copy to a temporary file in the destination's
// directory, fsyncs it, renames it over the destination and fsyncs the
// directory: the destination name holds either the old file or the whole
// new one, never part of it, even across a crash.
func applyFileCopy(ctx context.Context, c *call) (cty.Value, error) {
	a, err := parseFileCopy(c)
	if err != nil {
		return cty.NilVal, err
	}
	target := a.target()
	if sameFile(a.source, target) {
		return cty.NilVal, attrErr(cty.GetAttrPath("destination"), "cannot copy %s onto itself", a.source)
	}
	src, err := os.Open(a.source)
	if err != nil {
		return cty.NilVal, attrErr(cty.GetAttrPath("source"), "%s", fileErr(err))
	}
	defer func() { _ = src.Close() }() // read-only
	sfi, err := src.Stat()
	if err != nil {
		return cty.NilVal, attrErr(cty.GetAttrPath("source"), "%s", fileErr(err))
	}
	if !sfi.Mode().IsRegular() {
		return cty.NilVal, attrErr(cty.GetAttrPath("source"), "%s is not a regular file (%s)", a.source, sfi.Mode().Type())
	}
	if tfi, err := os.Stat(target); err == nil && !tfi.Mode().IsRegular() {
		return cty.NilVal, attrErr(cty.GetAttrPath("destination"), "%s exists and is not a regular file (%s)", target, tfi.Mode().Type())
	}
	mode := modeBits(sfi.Mode())
	if a.mode != nil {
		mode = *a.mode
	}

	// google/renameio (already the project's choice for atomic writes)
	// creates the temporary file beside the target, fsyncs it and renames
	// it into place; Cleanup removes it on any failure. It does not sync
	// the directory, so that is done below.
	dir := filepath.Dir(target)
	pf, err := renameio.NewPendingFile(target, renameio.WithTempDir(dir), renameio.WithStaticPermissions(mode.Perm()))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return cty.NilVal, attrErr(cty.GetAttrPath("destination"), "the destination directory %s does not exist", dir)
		}
		return cty.NilVal, attrErr(cty.GetAttrPath("destination"), "creating a temporary file beside %s: %s", target, err)
	}
	defer func() { _ = pf.Cleanup() }() // a no-op once the copy is in place

	c.log("debug", "copying %s to %s (%d bytes)", a.source, target, sfi.Size())
	h := sha256.New()
	n, err := copyWithProgress(ctx, c, io.MultiWriter(pf, h), src, sfi.Size())
	if err != nil {
		if ctx.Err() != nil {
			return cty.NilVal, ctxError(ctx, "copying "+a.source)
		}
		return cty.NilVal, provider.Errorf("copying %s to %s: %s", a.source, target, err)
	}
	if mode != mode.Perm() {
		// setuid, setgid, sticky: renameio sets only the permission bits.
		// Chmod on the open file is not subject to the umask.
		if err := pf.Chmod(mode); err != nil {
			return cty.NilVal, provider.Errorf("setting the mode of %s: %s", target, err)
		}
	}
	if err := ctx.Err(); err != nil {
		return cty.NilVal, ctxError(ctx, "copying "+a.source)
	}
	if err := pf.CloseAtomicallyReplace(); err != nil {
		return cty.NilVal, provider.Errorf("putting the copy in place at %s: %s", target, err)
	}
	if err := syncDir(dir); err != nil {
		c.log("warn", "the copy is in place but syncing directory %s failed (%s): it may not survive a power loss", dir, err)
	}
	c.log("info", "copied %s to %s (%d bytes)", a.source, target, n)
	return copyOutputs(target, hex.EncodeToString(h.Sum(nil)), n), nil
}

// checkFileCopy: the copy took effect when the destination holds the
// source's bytes and the expected mode. It only reads both files. The copy
// is atomic (a rename), so when it is not in place nothing happened: the
// destination is as before, and NotApplied runs the copy again.
func checkFileCopy(ctx context.Context, c *call, _ time.Time) (provider.CheckResult, cty.Value, error) {
	a, err := parseFileCopy(c)
	if err != nil {
		return provider.Unknown, cty.NilVal, nil
	}
	target := a.target()
	sfi, err1 := os.Stat(a.source)
	tfi, err2 := os.Stat(target)
	if err1 != nil || err2 != nil || !sfi.Mode().IsRegular() || !tfi.Mode().IsRegular() ||
		sfi.Size() != tfi.Size() || os.SameFile(sfi, tfi) {
		return provider.NotApplied, cty.NilVal, nil
	}
	want := modeBits(sfi.Mode())
	if a.mode != nil {
		want = *a.mode
	}
	if modeBits(tfi.Mode()) != want {
		return provider.NotApplied, cty.NilVal, nil
	}
	ssum, _, err := hashFile(ctx, c, a.source, "source")
	if err == nil {
		var tsum string
		var size int64
		tsum, size, err = hashFile(ctx, c, target, "destination")
		if err == nil && tsum == ssum {
			return provider.Applied, copyOutputs(target, tsum, size), nil
		}
	}
	if ctx.Err() != nil {
		return provider.Unknown, cty.NilVal, err
	}
	return provider.NotApplied, cty.NilVal, nil
}

func copyOutputs(path, sum string, size int64) cty.Value {
	return cty.ObjectVal(map[string]cty.Value{
		"path":   cty.StringVal(path),
		"sha256": cty.StringVal(sum),
		"size":   cty.NumberIntVal(size),
	})
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer func() { _ = d.Close() }() // a directory opened for its fsync
	return d.Sync()
}
