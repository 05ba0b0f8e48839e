// Package gittest makes git repositories for tests of git modules: a bare
// repository that tests commit snapshots of a directory to and tag, as a
// module author would push them. It uses go-git only, so tests need no git
// binary.
package gittest

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/go-git/go-billy/v5"
	"github.com/go-git/go-billy/v5/memfs"
	"github.com/go-git/go-billy/v5/osfs"
	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/cache"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/storage/filesystem"
)

// Branch is the default branch of the repositories made here.
const Branch = "main"

// when is the fixed time of every commit and tag: the hashes then depend
// only on content, message and history.
var when = time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)

func signature() *object.Signature {
	return &object.Signature{Name: "Runbook Test", Email: "test@runbook.invalid", When: when}
}

// Repo is a bare repository on disk.
type Repo struct {
	Dir  string
	repo *git.Repository
}

// Open opens the bare repository in dir, creating it if need be. Its
// worktree lives in memory: each Commit describes the whole tree.
func Open(dir string) (*Repo, error) {
	if _, err := os.Stat(filepath.Join(dir, "HEAD")); errors.Is(err, fs.ErrNotExist) {
		opts := &git.PlainInitOptions{Bare: true, InitOptions: git.InitOptions{DefaultBranch: plumbing.NewBranchReferenceName(Branch)}}
		if _, err := git.PlainInitWithOptions(dir, opts); err != nil {
			return nil, err
		}
	}
	r, err := git.Open(filesystem.NewStorage(osfs.New(dir), cache.NewObjectLRUDefault()), memfs.New())
	if err != nil {
		return nil, err
	}
	return &Repo{Dir: dir, repo: r}, nil
}

// Commit makes the files under src the content of a new commit on the
// default branch and returns its hash.
func (r *Repo) Commit(src, message string) (string, error) {
	wt, err := r.repo.Worktree()
	if err != nil {
		return "", err
	}
	if err := r.checkoutHead(wt); err != nil {
		return "", err
	}
	if err := clearTree(wt.Filesystem); err != nil {
		return "", err
	}
	if err := copyTree(src, wt.Filesystem); err != nil {
		return "", err
	}
	if err := wt.AddWithOptions(&git.AddOptions{All: true}); err != nil {
		return "", err
	}
	h, err := wt.Commit(message, &git.CommitOptions{All: true, AllowEmptyCommits: true, Author: signature(), Committer: signature()})
	return h.String(), err
}

// checkoutHead fills the in-memory worktree with HEAD, so that the index
// and the worktree agree before the new snapshot replaces them.
func (r *Repo) checkoutHead(wt *git.Worktree) error {
	head, err := r.repo.Head()
	if errors.Is(err, plumbing.ErrReferenceNotFound) {
		return nil // no commit yet
	}
	if err != nil {
		return err
	}
	return wt.Reset(&git.ResetOptions{Commit: head.Hash(), Mode: git.HardReset})
}

// Tag tags HEAD: annotated (a tag object with a message) or lightweight.
func (r *Repo) Tag(name string, annotated bool) error {
	head, err := r.repo.Head()
	if err != nil {
		return err
	}
	var opts *git.CreateTagOptions
	if annotated {
		opts = &git.CreateTagOptions{Tagger: signature(), Message: "Release " + name}
	}
	_, err = r.repo.CreateTag(name, head.Hash(), opts)
	return err
}

// Head is the hash of the default branch's last commit.
func (r *Repo) Head() (string, error) {
	head, err := r.repo.Head()
	if err != nil {
		return "", err
	}
	return head.Hash().String(), nil
}

// URL is the repository's file URL, as a git:: source takes it.
func (r *Repo) URL() string {
	abs, err := filepath.Abs(r.Dir)
	if err != nil {
		abs = r.Dir
	}
	return "file://" + filepath.ToSlash(abs)
}

func clearTree(fsys billy.Filesystem) error {
	entries, err := fsys.ReadDir("/")
	if err != nil {
		return err
	}
	for _, e := range entries {
		if e.Name() == git.GitDirName {
			continue
		}
		if err := removeAll(fsys, e.Name()); err != nil {
			return err
		}
	}
	return nil
}

func removeAll(fsys billy.Filesystem, name string) error {
	info, err := fsys.Lstat(name)
	if err != nil {
		return err
	}
	if info.IsDir() {
		entries, err := fsys.ReadDir(name)
		if err != nil {
			return err
		}
		for _, e := range entries {
			if err := removeAll(fsys, fsys.Join(name, e.Name())); err != nil {
				return err
			}
		}
	}
	return fsys.Remove(name)
}

func copyTree(src string, dst billy.Filesystem) error {
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		f, err := dst.Create(filepath.ToSlash(rel))
		if err != nil {
			return err
		}
		if _, err := f.Write(data); err != nil {
			_ = f.Close()
			return err
		}
		return f.Close()
	})
}
