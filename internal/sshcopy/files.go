package sshcopy

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"os"
	"path"

	"github.com/pkg/sftp"
)

// Stat returns the attributes of a remote file, following symbolic links.
func (c *Client) Stat(name string) (fs.FileInfo, error) {
	fi, err := c.sftp.Stat(name)
	if err != nil {
		return nil, fileError("stat", c.addr, name, err)
	}
	return fi, nil
}

// Open opens a remote file for reading. Its errors are *Error too.
func (c *Client) Open(name string) (fs.File, error) {
	f, err := c.sftp.Open(name)
	if err != nil {
		return nil, fileError("open", c.addr, name, err)
	}
	return &file{File: f, c: c}, nil
}

// file words the errors of reads like every other operation.
type file struct {
	*sftp.File
	c *Client
}

func (f *file) Read(b []byte) (int, error) {
	n, err := f.File.Read(b)
	if err != nil && err != io.EOF {
		err = fileError("read", f.c.addr, f.Name(), err)
	}
	return n, err
}

func (f *file) Stat() (fs.FileInfo, error) {
	fi, err := f.File.Stat()
	if err != nil {
		return nil, fileError("stat", f.c.addr, f.Name(), err)
	}
	return fi, nil
}

// CanSync reports whether the server flushes a file to disk on request
// (the fsync@openssh.com extension). Without it a copy that is in place
// may still be lost if the host crashes soon after.
func (c *Client) CanSync() bool {
	data, ok := c.sftp.HasExtension("fsync@openssh.com")
	return ok && data == "1"
}

// PendingFile is a remote file being written under a temporary name
// beside its target, so that the target holds either its old content or
// the whole new one, never part of it: the remote counterpart of
// renameio.PendingFile.
type PendingFile struct {
	c           *Client
	f           *sftp.File
	tmp, target string
	mode        os.FileMode
	closed      bool
	done        bool
}

// Create starts writing target. The temporary file is readable by its
// owner only until CloseAtomicallyReplace gives it mode: the content may
// be secret.
func (c *Client) Create(target string, mode os.FileMode) (*PendingFile, error) {
	dir, name := path.Split(target)
	var rnd [6]byte
	_, _ = rand.Read(rnd[:]) // crypto/rand.Read never fails
	tmp := path.Join(dir, "."+name+".runbook-tmp-"+hex.EncodeToString(rnd[:]))
	f, err := c.sftp.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL)
	if err != nil {
		e := fileError("create a temporary file in", c.addr, path.Clean(dir), err)
		if e.Kind == KindNotExist {
			e.Msg = "no such directory"
		}
		return nil, e
	}
	p := &PendingFile{c: c, f: f, tmp: tmp, target: target, mode: mode}
	if err := f.Chmod(0o600); err != nil {
		_ = p.Cleanup()
		return nil, fileError("chmod", c.addr, tmp, err)
	}
	return p, nil
}

// Name is the temporary file's path.
func (p *PendingFile) Name() string { return p.tmp }

func (p *PendingFile) Write(b []byte) (int, error) {
	n, err := p.f.Write(b)
	if err != nil {
		return n, fileError("write", p.c.addr, p.tmp, err)
	}
	return n, nil
}

// CloseAtomicallyReplace sets the mode, flushes the file to disk when the
// server can, and renames it over the target. posix-rename@openssh.com
// replaces an existing target in one step; the SFTP protocol's own rename
// refuses to, so without the extension only a new target can be written.
func (p *PendingFile) CloseAtomicallyReplace() error {
	if err := p.f.Chmod(p.mode); err != nil {
		return fileError("chmod", p.c.addr, p.tmp, err)
	}
	if p.c.CanSync() {
		if err := p.f.Sync(); err != nil {
			return fileError("fsync", p.c.addr, p.tmp, err)
		}
	}
	p.closed = true
	if err := p.f.Close(); err != nil {
		return fileError("close", p.c.addr, p.tmp, err)
	}
	rename := p.c.sftp.Rename
	if _, ok := p.c.sftp.HasExtension("posix-rename@openssh.com"); ok {
		rename = p.c.sftp.PosixRename
	}
	if err := rename(p.tmp, p.target); err != nil {
		return fileError("rename "+p.tmp+" to", p.c.addr, p.target, err)
	}
	p.done = true
	return nil
}

// Cleanup removes the temporary file unless it was put in place. When the
// connection is gone it cannot, and the file stays behind under its
// hidden name, which no later copy reuses.
func (p *PendingFile) Cleanup() error {
	if p.done {
		return nil
	}
	var errs []error
	if !p.closed {
		p.closed = true
		errs = append(errs, p.f.Close())
	}
	if err := p.c.sftp.Remove(p.tmp); err != nil && !errors.Is(err, fs.ErrNotExist) {
		errs = append(errs, fileError("remove", p.c.addr, p.tmp, err))
	}
	p.done = true
	return errors.Join(errs...)
}
