package core

import (
	"context"
	"errors"
	"net/url"
	"os"
	"path"
	"strings"

	"github.com/zclconf/go-cty/cty"

	"github.com/runbook-dev/runbook/internal/sshcopy"
	"github.com/runbook-dev/runbook/plugins/provider"
)

// The remote side of core.file_copy: a source or destination written
// sftp://[user@]host[:port]/path (or ssh://). internal/sshcopy dials,
// authenticates, checks the host key and writes atomically; this file
// maps its answers onto inputs, messages and retryability.

// parseURL reads the input as a remote location when it has a scheme. A
// string with "://" is never taken for a local path: "s3://bucket/key"
// must fail here rather than create a directory named "s3:".
func (s *side) parseURL() error {
	if !sshcopy.IsURL(s.raw) {
		return nil
	}
	loc, err := sshcopy.Parse(s.raw)
	if errors.Is(err, sshcopy.ErrURLPassword) {
		return attrErr(cty.GetAttrPath(s.attr), "%s: the URL holds a password; give it in ssh_password, which is kept out of logs and plans", s.attr)
	}
	if err != nil {
		return attrErr(cty.GetAttrPath(s.attr), "%s: %s", s.attr, err)
	}
	s.loc = loc
	return nil
}

func parseSSHOptions(c *call) (sshcopy.Options, error) {
	var o sshcopy.Options
	o.KeyFile, _ = c.str("ssh_private_key_file")
	o.KeyPassphrase, _ = c.str("ssh_private_key_passphrase")
	o.Password, _ = c.str("ssh_password")
	o.KnownHostsFile, _ = c.str("ssh_known_hosts_file")
	o.InsecureIgnoreHostKey = c.boolean("ssh_insecure_ignore_host_key")
	d, known, err := c.duration("ssh_timeout", sshcopy.DefaultTimeout)
	if err != nil {
		return o, err
	}
	if known && d == 0 {
		return o, attrErr(cty.GetAttrPath("ssh_timeout"), "ssh_timeout must be more than zero")
	}
	o.Timeout = d
	return o, nil
}

// connect dials the remote side, if there is one, and returns what closes
// it.
func (a *copyArgs) connect(ctx context.Context, c *call) (func(), error) {
	s := &a.dst
	if a.src.remote() {
		s = &a.src
	}
	if !s.remote() {
		return func() {}, nil
	}
	addr := s.loc.Addr()
	if a.ssh.InsecureIgnoreHostKey {
		c.log("warn", "not checking the host key of %s (ssh_insecure_ignore_host_key): a machine in the middle could read or change the copy", addr)
	}
	c.log("debug", "connecting to %s", addr)
	client, err := sshcopy.Dial(ctx, s.loc, a.ssh)
	if err != nil {
		return nil, s.remoteFail(ctx, err)
	}
	s.client = client
	if s == &a.dst && !client.CanSync() {
		c.log("warn", "%s does not support fsync@openssh.com: the copy may be lost if that host crashes right after it", addr)
	}
	return func() { _ = client.Close() }, nil
}

// remoteTarget is the remote counterpart of localTarget. A URL ending in
// "/" must name a directory.
func (a *copyArgs) remoteTarget() (string, error) {
	p := a.dst.loc.Clean()
	fi, err := a.dst.client.Stat(p)
	switch {
	case err == nil && fi.IsDir():
		return path.Join(p, a.src.base()), nil
	case !a.dst.loc.IsDir():
		// A stat failing for another reason fails again, with the
		// operation named, when the copy is created.
		return p, nil
	case err == nil:
		return "", attrErr(cty.GetAttrPath("destination"), "%s ends in / but is not a directory", a.dst.raw)
	}
	var se *sshcopy.Error
	if errors.As(err, &se) && se.Kind == sshcopy.KindNotExist {
		return "", attrErr(cty.GetAttrPath("destination"), "core.file_copy: the destination directory %s does not exist on %s", p, se.Addr)
	}
	return "", err
}

func (s *side) remoteBase() string { return path.Base(s.loc.Clean()) }

// showRemote names a remote file by URL. The destination's own path, or a
// file inside it, is spelled from the URL as given, so that the path
// output matches the plan's and a later step can pass it on.
func (s *side) showRemote(name string) string {
	switch {
	case name == s.loc.Path || name == s.loc.Clean():
		return s.raw
	case path.Dir(name) == s.loc.Clean():
		return strings.TrimSuffix(s.raw, "/") + "/" + url.PathEscape(path.Base(name))
	}
	return s.loc.At(name)
}

func (s *side) createRemote(ctx context.Context, target string, mode os.FileMode) (pendingFile, error) {
	pf, err := s.client.Create(target, mode)
	var se *sshcopy.Error
	if errors.As(err, &se) && se.Kind == sshcopy.KindNotExist {
		return nil, attrErr(cty.GetAttrPath("destination"), "core.file_copy: the destination directory %s does not exist on %s", path.Dir(target), se.Addr)
	}
	if err != nil {
		return nil, s.remoteFail(ctx, err)
	}
	return pf, nil
}

// remoteFail words an sshcopy error. It already names the host and the
// path; sshcopy knows whether trying again may help. Failures that are
// the inputs' fault point at the input.
func (s *side) remoteFail(ctx context.Context, err error) error {
	var se *sshcopy.Error
	if !errors.As(err, &se) {
		return provider.Errorf("core.file_copy: %s", err)
	}
	if ctx.Err() != nil {
		return ctxError(ctx, "core.file_copy: "+se.Op+" "+se.Addr)
	}
	pe := &provider.Error{Message: "core.file_copy: " + se.Error(), Retryable: se.Retryable()}
	switch se.Kind {
	case sshcopy.KindKeyFile:
		pe.Attribute = cty.GetAttrPath("ssh_private_key_file")
	case sshcopy.KindKnownHosts:
		pe.Attribute = cty.GetAttrPath("ssh_known_hosts_file")
	case sshcopy.KindHostKey, sshcopy.KindAuth, sshcopy.KindNotExist, sshcopy.KindPermission:
		pe.Attribute = cty.GetAttrPath(s.attr)
	}
	return pe
}
