package modules

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/go-git/go-billy/v5/osfs"
	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/cache"
	"github.com/go-git/go-git/v5/plumbing/storer"
	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/go-git/go-git/v5/plumbing/transport/client"
	"github.com/go-git/go-git/v5/plumbing/transport/server"
	"github.com/go-git/go-git/v5/storage/filesystem"
	"github.com/go-git/go-git/v5/storage/memory"
	"github.com/hashicorp/go-version"
)

// go-git serves file:// by running git-upload-pack; serving it in-process
// instead keeps runbook free of a git installation for local repositories
// too, as it already is for https and ssh.
func init() { client.InstallProtocol("file", server.NewServer(localRepos{})) }

// localRepos opens the repository a file:// URL names, bare or not.
type localRepos struct{}

func (localRepos) Load(ep *transport.Endpoint) (storer.Storer, error) {
	for _, dir := range []string{filepath.Join(ep.Path, git.GitDirName), ep.Path} {
		if isGitDir(dir) {
			return filesystem.NewStorage(osfs.New(dir), cache.NewObjectLRUDefault()), nil
		}
	}
	return nil, transport.ErrRepositoryNotFound
}

func isGitDir(dir string) bool {
	head, err := os.Stat(filepath.Join(dir, "HEAD"))
	objects, oerr := os.Stat(filepath.Join(dir, "objects"))
	return err == nil && oerr == nil && head.Mode().IsRegular() && objects.IsDir()
}

// listTimeout bounds ls-remote, which should take a round trip or two; a
// clone may take much longer and is bounded only by the caller's context.
const listTimeout = time.Minute

// listRefs is `git ls-remote`.
func listRefs(ctx context.Context, repo string) ([]*plumbing.Reference, error) {
	ctx, cancel := context.WithTimeout(ctx, listTimeout)
	defer cancel()
	r := git.NewRemote(memory.NewStorage(), &config.RemoteConfig{Name: "origin", URLs: []string{repo}})
	return r.ListContext(ctx, &git.ListOptions{PeelingOption: git.AppendPeeled})
}

// target is what to install: a ref to resolve in the clone, or a commit.
type target struct {
	// ref is what the lock records: the tag chosen, or the ref or branch.
	ref string
	// name is the ref to resolve after cloning; "" with commit set.
	name plumbing.ReferenceName
	// commit is a full or abbreviated commit hash, when known up front.
	commit string
	// listed is the commit ls-remote reported, when it did, so that an
	// installed copy at that commit is kept without cloning again.
	listed string
}

// versionTag is a tag whose name is a version number, with or without v.
type versionTag struct {
	name    string
	version *version.Version
	listed  string
}

// versionTags lists the repository's version tags, oldest first.
func versionTags(refs []*plumbing.Reference) []versionTag {
	var tags []versionTag
	peeled := peeledTags(refs)
	for _, r := range refs {
		name, ok := strings.CutPrefix(r.Name().String(), "refs/tags/")
		if !ok || strings.HasSuffix(name, "^{}") {
			continue
		}
		v, err := version.NewVersion(name)
		if err != nil {
			continue
		}
		listed := r.Hash().String()
		if p, ok := peeled[name]; ok {
			listed = p
		}
		tags = append(tags, versionTag{name: name, version: v, listed: listed})
	}
	sort.SliceStable(tags, func(i, j int) bool {
		if c := tags[i].version.Compare(tags[j].version); c != 0 {
			return c < 0
		}
		return tags[i].name < tags[j].name
	})
	return tags
}

// peeledTags maps an annotated tag to its commit, when the server says.
func peeledTags(refs []*plumbing.Reference) map[string]string {
	out := map[string]string{}
	for _, r := range refs {
		name, ok := strings.CutPrefix(r.Name().String(), "refs/tags/")
		if base, peeled := strings.CutSuffix(name, "^{}"); ok && peeled {
			out[base] = r.Hash().String()
		}
	}
	return out
}

// NoMatchError is a version constraint no tag satisfies.
type NoMatchError struct {
	Constraint string
	Available  []string
}

func (e *NoMatchError) Error() string {
	if len(e.Available) == 0 {
		return fmt.Sprintf("no tag satisfies %q: the repository has no version tags (such as v1.2.0)", e.Constraint)
	}
	return fmt.Sprintf("no tag satisfies %q; available versions: %s", e.Constraint, strings.Join(e.Available, ", "))
}

// chooseVersion picks the newest tag the constraint allows.
func chooseVersion(refs []*plumbing.Reference, constraint string) (target, error) {
	cs, err := version.NewConstraint(constraint)
	if err != nil {
		return target{}, err
	}
	tags := versionTags(refs)
	for i := len(tags) - 1; i >= 0; i-- {
		if t := tags[i]; cs.Check(t.version) {
			return target{ref: t.name, name: plumbing.NewTagReferenceName(t.name), listed: t.listed}, nil
		}
	}
	e := &NoMatchError{Constraint: constraint}
	for _, t := range tags {
		e.Available = append(e.Available, t.name)
	}
	return target{}, e
}

// RefNotFoundError is a ?ref= that is no tag, branch or commit, or a
// locked commit the repository no longer has.
type RefNotFoundError struct {
	Ref    string
	Commit string // the commit looked for, when one was
}

func (e *RefNotFoundError) Error() string {
	if e.Commit != "" && e.Commit != e.Ref {
		return fmt.Sprintf("the repository has no commit %s (%s)", e.Commit, e.Ref)
	}
	return fmt.Sprintf("the repository has no tag, branch or commit %q", e.Ref)
}

// chooseRef finds ?ref= among the tags, then the branches; a ref that is
// neither but looks like a commit hash is looked for after cloning.
func chooseRef(refs []*plumbing.Reference, ref string) (target, error) {
	peeled := peeledTags(refs)
	for _, name := range []plumbing.ReferenceName{plumbing.NewTagReferenceName(ref), plumbing.NewBranchReferenceName(ref), plumbing.ReferenceName(ref)} {
		for _, r := range refs {
			if r.Name() != name || r.Type() != plumbing.HashReference {
				continue
			}
			listed := r.Hash().String()
			if p, ok := peeled[ref]; ok && name.IsTag() {
				listed = p
			}
			return target{ref: ref, name: name, listed: listed}, nil
		}
	}
	if looksLikeCommit(ref) {
		return target{ref: ref, commit: ref}, nil
	}
	return target{}, &RefNotFoundError{Ref: ref}
}

func looksLikeCommit(s string) bool {
	if len(s) < 4 || len(s) > 40 {
		return false
	}
	for _, c := range s {
		if !strings.ContainsRune("0123456789abcdef", c) {
			return false
		}
	}
	return true
}

// chooseHead is the default branch: what the remote's HEAD points to.
func chooseHead(refs []*plumbing.Reference) (target, error) {
	for _, r := range refs {
		if r.Name() != plumbing.HEAD {
			continue
		}
		if r.Type() == plumbing.SymbolicReference {
			return target{ref: r.Target().Short(), name: r.Target()}, nil
		}
		return target{ref: "HEAD", commit: r.Hash().String(), listed: r.Hash().String()}, nil
	}
	return target{}, errors.New("the repository has no default branch (HEAD): give ?ref= or version")
}

// install makes dir a checkout of the target's commit and returns that
// commit. A copy already at the commit is kept: re-running init with a
// lock file needs no network.
func install(ctx context.Context, repo, dir string, t target) (string, error) {
	if have, err := installedCommit(dir); err == nil && have != "" && (have == t.commit || have == t.listed) {
		return have, nil
	}
	// 0700 as the state directory, which .runbook also holds: run IDs and
	// journals are nobody else's to list.
	if err := os.MkdirAll(filepath.Dir(dir), 0o700); err != nil {
		return "", err
	}
	// Clone beside dir and swap it in, so that a failed fetch leaves the
	// previous copy whole.
	tmp, err := os.MkdirTemp(filepath.Dir(dir), ".fetch-")
	if err != nil {
		return "", err
	}
	if err := os.Chmod(tmp, 0o755); err != nil { // MkdirTemp's 0700 would hide the module from others
		return "", err
	}
	defer func() { _ = os.RemoveAll(tmp) }()
	commit, err := cloneAt(ctx, repo, tmp, t)
	if err != nil {
		return "", err
	}
	if err := os.RemoveAll(dir); err != nil {
		return "", err
	}
	return commit, os.Rename(tmp, dir)
}

// CloneError is a repository that could not be fetched.
type CloneError struct {
	Repo string
	Err  error
}

func (e *CloneError) Error() string { return fmt.Sprintf("cloning %s: %v", e.Repo, e.Err) }

func (e *CloneError) Unwrap() error { return e.Err }

// cloneAt clones every branch and tag (a pinned commit may be on any of
// them) and checks the target's commit out, detached.
func cloneAt(ctx context.Context, repo, dir string, t target) (string, error) {
	r, err := git.PlainCloneContext(ctx, dir, false, &git.CloneOptions{URL: repo, NoCheckout: true, Tags: git.AllTags})
	if err != nil {
		return "", &CloneError{Repo: repo, Err: err}
	}
	hash, err := resolveIn(r, t)
	if err != nil {
		return "", err
	}
	wt, err := r.Worktree()
	if err != nil {
		return "", err
	}
	if err := wt.Checkout(&git.CheckoutOptions{Hash: hash, Force: true}); err != nil {
		return "", fmt.Errorf("checking out %s: %w", hash, err)
	}
	return hash.String(), nil
}

// resolveIn finds the target's commit in a fresh clone, peeling annotated
// tags. Branches are remote-tracking refs there.
func resolveIn(r *git.Repository, t target) (plumbing.Hash, error) {
	rev := t.commit
	switch {
	case t.name.IsBranch():
		rev = plumbing.NewRemoteReferenceName("origin", t.name.Short()).String()
	case t.name != "":
		rev = t.name.String()
	}
	h, err := r.ResolveRevision(plumbing.Revision(rev))
	if err != nil {
		return plumbing.ZeroHash, &RefNotFoundError{Ref: t.ref, Commit: t.commit}
	}
	return *h, nil
}

// installedCommit is the commit checked out in dir.
func installedCommit(dir string) (string, error) {
	r, err := git.PlainOpen(dir)
	if err != nil {
		return "", err
	}
	head, err := r.Head()
	if err != nil {
		return "", err
	}
	return head.Hash().String(), nil
}
