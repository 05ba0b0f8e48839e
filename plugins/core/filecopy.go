package core

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/google/renameio/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/runbook-dev/runbook/internal/sshcopy"
	"github.com/runbook-dev/runbook/plugins/provider"
)

// core.file_copy copies one file atomically: the destination holds either
// its old content or the whole copy, even across a crash. Either side may
// be on another host (sftp://, filecopy_remote.go); the copy, its checks
// and the read-back verification are the same code for every direction.

type copyArgs struct {
	src, dst side
	mode     *os.FileMode // nil: the source's mode
	want     string       // expect_sha256, lower-case hex; "" when not set
	ssh      sshcopy.Options
}

func parseFileCopy(c *call) (*copyArgs, error) {
	a := &copyArgs{src: side{attr: "source"}, dst: side{attr: "destination"}}
	if err := a.src.parse(c); err != nil {
		return nil, err
	}
	if err := a.dst.parse(c); err != nil {
		return nil, err
	}
	if a.src.remote() && a.dst.remote() {
		return nil, attrErr(cty.GetAttrPath("destination"),
			"cannot copy from one remote host to another (%s to %s): copy to a local file first, then from it", a.src.loc.Addr(), a.dst.loc.Addr())
	}
	if s, ok := c.str("mode"); ok {
		m, err := parseMode(s)
		if err != nil {
			return nil, attrErr(cty.GetAttrPath("mode"), "mode: %s", err)
		}
		a.mode = &m
	}
	if s, ok := c.str("expect_sha256"); ok {
		d, err := normalizeDigest(s)
		if err != nil {
			return nil, attrErr(cty.GetAttrPath("expect_sha256"), "expect_sha256: %s", err)
		}
		a.want = d
	}
	var err error
	a.ssh, err = parseSSHOptions(c)
	return a, err
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

// modeOf is the mode the copy gets: the mode input, else the source's.
func (a *copyArgs) modeOf(src fs.FileInfo) os.FileMode {
	if a.mode != nil {
		return *a.mode
	}
	return modeBits(src.Mode())
}

// target is where the copy goes: destination, or a file named like the
// source inside it when destination is an existing directory (as cp does).
// It only reads.
func (a *copyArgs) target() (string, error) {
	if a.dst.remote() {
		return a.remoteTarget()
	}
	return a.localTarget(), nil
}

func (a *copyArgs) localTarget() string {
	if fi, err := os.Stat(a.dst.raw); err == nil && fi.IsDir() {
		return filepath.Join(a.dst.raw, a.src.base())
	}
	return a.dst.raw
}

// sameFile reports whether source and target are one local file (the same
// path, or two names of one inode).
func (a *copyArgs) sameFile(target string) bool {
	if a.src.remote() || a.dst.remote() {
		return false
	}
	if filepath.Clean(a.src.raw) == filepath.Clean(target) {
		return true
	}
	si, err1 := os.Stat(a.src.raw)
	ti, err2 := os.Stat(target)
	return err1 == nil && err2 == nil && os.SameFile(si, ti)
}

func (a *copyArgs) ontoItself() error {
	return attrErr(cty.GetAttrPath("destination"), "cannot copy %s onto itself", a.src.raw)
}

// planFileCopy predicts the destination path from the inputs and a local
// stat, without connecting to a remote host: a remote path is known when
// it does not end in "/" (then it may still name a directory, which the
// copy goes into). The digest is unknown until the copy, since an earlier
// step may still produce or change the source, unless expect_sha256 says
// what it must be.
func planFileCopy(_ context.Context, c *call) (cty.Value, error) {
	a, err := parseFileCopy(c)
	if err != nil {
		return cty.NilVal, err
	}
	path := cty.UnknownVal(cty.String)
	switch {
	case !c.known("source") || !c.known("destination"):
	case a.dst.remote():
		if !a.dst.loc.IsDir() {
			path = cty.StringVal(a.dst.raw)
		}
	default:
		t := a.localTarget()
		if a.sameFile(t) {
			return cty.NilVal, a.ontoItself()
		}
		path = cty.StringVal(t)
	}
	sum := cty.UnknownVal(cty.String)
	if a.want != "" {
		sum = cty.StringVal(a.want)
	}
	return cty.ObjectVal(map[string]cty.Value{"path": path, "sha256": sum, "size": cty.UnknownVal(cty.Number)}), nil
}

// applyFileCopy writes the copy to a temporary file in the destination's
// directory, fsyncs it, renames it over the destination and (locally)
// fsyncs the directory; then it reads the copy back and compares digests.
func applyFileCopy(ctx context.Context, c *call) (cty.Value, error) {
	a, err := parseFileCopy(c)
	if err != nil {
		return cty.NilVal, err
	}
	disconnect, err := a.connect(ctx, c)
	if err != nil {
		return cty.NilVal, err
	}
	defer disconnect()
	src, sfi, err := a.openSource(ctx)
	if err != nil {
		return cty.NilVal, err
	}
	defer func() { _ = src.Close() }() // read-only
	target, err := a.target()
	if err != nil {
		return cty.NilVal, a.dst.fail(ctx, err)
	}
	if a.sameFile(target) {
		return cty.NilVal, a.ontoItself()
	}
	if tfi, err := a.dst.stat(target); err == nil && !tfi.Mode().IsRegular() {
		return cty.NilVal, attrErr(cty.GetAttrPath("destination"), "%s exists and is not a regular file (%s)", a.dst.show(target), tfi.Mode().Type())
	}
	sum, n, err := a.transfer(ctx, c, src, sfi.Size(), target, a.modeOf(sfi))
	if err != nil {
		return cty.NilVal, err
	}
	if err := a.verify(ctx, c, target, sum); err != nil {
		return cty.NilVal, err
	}
	return copyOutputs(a.dst.show(target), sum, n), nil
}

func (a *copyArgs) openSource(ctx context.Context) (fs.File, fs.FileInfo, error) {
	f, err := a.src.open(a.src.path())
	if err != nil {
		return nil, nil, a.src.fail(ctx, err)
	}
	fi, err := f.Stat()
	if err != nil {
		_ = f.Close()
		return nil, nil, a.src.fail(ctx, err)
	}
	if !fi.Mode().IsRegular() {
		_ = f.Close()
		return nil, nil, attrErr(cty.GetAttrPath("source"), "%s is not a regular file (%s)", a.src.show(a.src.path()), fi.Mode().Type())
	}
	return f, fi, nil
}

// transfer streams src into a pending file at target, hashing what it reads,
// and puts it in place unless the digest differs from expect_sha256.
func (a *copyArgs) transfer(ctx context.Context, c *call, src io.Reader, size int64, target string, mode os.FileMode) (string, int64, error) {
	pf, err := a.dst.create(ctx, target, mode)
	if err != nil {
		return "", 0, err
	}
	defer func() { _ = pf.Cleanup() }() // a no-op once the copy is in place

	from, to := a.src.show(a.src.path()), a.dst.show(target)
	c.log("debug", "copying %s to %s (%d bytes)", from, to, size)
	h := sha256.New()
	n, err := copyWithProgress(ctx, c, io.MultiWriter(pf, h), src, size)
	if err != nil {
		return "", 0, a.transferFailed(ctx, fmt.Sprintf("copying %s to %s", from, to), err)
	}
	sum := hex.EncodeToString(h.Sum(nil))
	if a.want != "" && sum != a.want {
		return "", 0, attrErr(cty.GetAttrPath("expect_sha256"),
			"checksum mismatch for %s: expected sha256 %s, got %s (%d bytes); %s was left as it was", from, a.want, sum, n, to)
	}
	if err := ctx.Err(); err != nil {
		return "", 0, ctxError(ctx, "copying "+from)
	}
	if err := pf.CloseAtomicallyReplace(); err != nil {
		return "", 0, a.transferFailed(ctx, "putting the copy in place at "+to, err)
	}
	if err := a.dst.syncDir(target); err != nil {
		c.log("warn", "the copy is in place but syncing its directory failed (%s): it may not survive a power loss", err)
	}
	c.log("info", "copied %s to %s (%d bytes)", from, to, n)
	return sum, n, nil
}

// transferFailed words a failure while data moved. Locally it is not
// retryable, as before; remotely sshcopy knows whether the network or the
// server failed.
func (a *copyArgs) transferFailed(ctx context.Context, what string, err error) error {
	if ctx.Err() != nil {
		return ctxError(ctx, what)
	}
	var se *sshcopy.Error
	if errors.As(err, &se) {
		return &provider.Error{Message: "core.file_copy: " + what + ": " + se.Error(), Retryable: se.Retryable()}
	}
	return provider.Errorf("%s: %s", what, err)
}

// verify reads the copy back and compares its digest with the one of the
// bytes read from the source: a disk, a controller or a network path that
// corrupts data silently is exactly what a recovery copy must not trust.
// A mismatch is retryable: the next attempt writes the copy again.
func (a *copyArgs) verify(ctx context.Context, c *call, target, want string) error {
	to := a.dst.show(target)
	c.log("debug", "verifying %s", to)
	got, _, err := a.dst.hash(ctx, c, target)
	if err != nil {
		if ctx.Err() != nil {
			return ctxError(ctx, "verifying "+to)
		}
		err = a.dst.fail(ctx, err)
		return &provider.Error{Message: "verifying the copy: " + err.Error(), Retryable: true}
	}
	if got != want {
		return provider.RetryableErrorf("core.file_copy: the copy at %s reads back with sha256 %s, but the source read as %s: it was corrupted on the way or on disk",
			to, got, want)
	}
	return nil
}

// checkFileCopy: the copy took effect when the destination holds the
// source's bytes and the expected mode. It only reads both files. The copy
// is atomic (a rename), so when it is not in place nothing happened: the
// destination is as before, and NotApplied runs the copy again. When a
// remote host cannot be reached, re-running is as safe and reports why.
func checkFileCopy(ctx context.Context, c *call, _ time.Time) (provider.CheckResult, cty.Value, error) {
	a, err := parseFileCopy(c)
	if err != nil {
		return provider.Unknown, cty.NilVal, nil
	}
	disconnect, err := a.connect(ctx, c)
	if err != nil {
		if ctx.Err() != nil {
			return provider.Unknown, cty.NilVal, err
		}
		c.log("warn", "cannot tell whether the copy took effect, so it runs again: %s", err)
		return provider.NotApplied, cty.NilVal, nil
	}
	defer disconnect()
	target, err := a.target()
	if err != nil || !a.inPlace(target) {
		return provider.NotApplied, cty.NilVal, nil
	}
	ssum, _, err := a.src.hash(ctx, c, a.src.path())
	if err == nil && (a.want == "" || ssum == a.want) {
		tsum, size, terr := a.dst.hash(ctx, c, target)
		if terr == nil && tsum == ssum {
			return provider.Applied, copyOutputs(a.dst.show(target), tsum, size), nil
		}
		err = terr
	}
	if ctx.Err() != nil {
		return provider.Unknown, cty.NilVal, err
	}
	return provider.NotApplied, cty.NilVal, nil
}

// inPlace compares what a stat tells of both files, before reading them.
func (a *copyArgs) inPlace(target string) bool {
	sfi, err1 := a.src.stat(a.src.path())
	tfi, err2 := a.dst.stat(target)
	if err1 != nil || err2 != nil || !sfi.Mode().IsRegular() || !tfi.Mode().IsRegular() ||
		sfi.Size() != tfi.Size() || os.SameFile(sfi, tfi) {
		return false
	}
	return modeBits(tfi.Mode()) == a.modeOf(sfi)
}

func copyOutputs(path, sum string, size int64) cty.Value {
	return cty.ObjectVal(map[string]cty.Value{
		"path":   cty.StringVal(path),
		"sha256": cty.StringVal(sum),
		"size":   cty.NumberIntVal(size),
	})
}

// side is the source or the destination of a copy: a local path, or a
// file on another host once connect has dialed it.
type side struct {
	attr   string            // the input that names it
	raw    string            // the input as given
	loc    *sshcopy.Location // nil for a local path
	client *sshcopy.Client   // set by connect when loc is set
}

func (s *side) parse(c *call) error {
	v, ok := c.str(s.attr)
	if !ok {
		return nil
	}
	if v == "" {
		return attrErr(cty.GetAttrPath(s.attr), "%s is empty", s.attr)
	}
	s.raw = v
	return s.parseURL()
}

func (s *side) remote() bool { return s.loc != nil }

// path is the file the input names, on its host.
func (s *side) path() string {
	if s.remote() {
		return s.loc.Path
	}
	return s.raw
}

func (s *side) base() string {
	if s.remote() {
		return s.remoteBase()
	}
	return filepath.Base(s.raw)
}

// show is how messages and the path output name a file of this side.
func (s *side) show(name string) string {
	if s.remote() {
		return s.showRemote(name)
	}
	return name
}

func (s *side) open(name string) (fs.File, error) {
	if s.remote() {
		return s.client.Open(name)
	}
	return os.Open(name)
}

func (s *side) stat(name string) (fs.FileInfo, error) {
	if s.remote() {
		return s.client.Stat(name)
	}
	return os.Stat(name)
}

// pendingFile is a copy being written under a temporary name until
// CloseAtomicallyReplace renames it over the target.
type pendingFile interface {
	io.Writer
	CloseAtomicallyReplace() error
	Cleanup() error
}

func (s *side) create(ctx context.Context, target string, mode os.FileMode) (pendingFile, error) {
	if s.remote() {
		return s.createRemote(ctx, target, mode)
	}
	return createLocal(target, mode)
}

// createLocal uses google/renameio (already the project's choice for
// atomic writes): it creates the temporary file beside the target, fsyncs
// it and renames it into place; Cleanup removes it on any failure. It
// does not sync the directory, so syncDir does.
func createLocal(target string, mode os.FileMode) (pendingFile, error) {
	dir := filepath.Dir(target)
	pf, err := renameio.NewPendingFile(target, renameio.WithTempDir(dir), renameio.WithStaticPermissions(mode.Perm()))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, attrErr(cty.GetAttrPath("destination"), "the destination directory %s does not exist", dir)
		}
		return nil, attrErr(cty.GetAttrPath("destination"), "creating a temporary file beside %s: %s", target, err)
	}
	return &localPending{PendingFile: pf, mode: mode}, nil
}

// localPending adds the bits renameio does not set: setuid, setgid and
// sticky. Chmod on the open file is not subject to the umask.
type localPending struct {
	*renameio.PendingFile
	mode os.FileMode
}

func (p *localPending) CloseAtomicallyReplace() error {
	if p.mode != p.mode.Perm() {
		if err := p.Chmod(p.mode); err != nil {
			return fmt.Errorf("setting the mode: %w", err)
		}
	}
	return p.PendingFile.CloseAtomicallyReplace()
}

// syncDir makes the rename durable. There is no SFTP request for it: a
// remote directory is left to the server.
func (s *side) syncDir(target string) error {
	if s.remote() {
		return nil
	}
	d, err := os.Open(filepath.Dir(target))
	if err != nil {
		return err
	}
	defer func() { _ = d.Close() }() // a directory opened for its fsync
	return d.Sync()
}

// hash returns the sha256 and size of a regular file of this side,
// reporting progress.
func (s *side) hash(ctx context.Context, c *call, name string) (string, int64, error) {
	if !s.remote() {
		return hashFile(ctx, c, name, s.attr)
	}
	f, err := s.open(name)
	if err != nil {
		return "", 0, err
	}
	defer func() { _ = f.Close() }() // read-only
	fi, err := f.Stat()
	if err != nil {
		return "", 0, err
	}
	if !fi.Mode().IsRegular() {
		return "", 0, attrErr(cty.GetAttrPath(s.attr), "%s is not a regular file (%s)", s.show(name), fi.Mode().Type())
	}
	h := sha256.New()
	n, err := copyWithProgress(ctx, c, h, f, fi.Size())
	if err != nil {
		return "", 0, err
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

// fail words an error about a file of this side, attributed to its input.
func (s *side) fail(ctx context.Context, err error) error {
	var pe *provider.Error
	switch {
	case errors.As(err, &pe):
		return pe
	case s.remote():
		return s.remoteFail(ctx, err)
	}
	return attrErr(cty.GetAttrPath(s.attr), "%s", fileErr(err))
}
