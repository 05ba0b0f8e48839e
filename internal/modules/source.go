package modules

import (
	"fmt"
	"net/url"
	"path"
	"regexp"
	"strings"
)

// gitPrefix forces the git getter, as in Terraform and go-getter.
const gitPrefix = "git::"

// Source is a git module source: git::URL[//SUBDIR][?ref=REF].
type Source struct {
	// Repo is the repository's URL, as git takes it.
	Repo string
	// Subdir is the module's directory inside the repository, "" for the
	// repository's root. It cannot leave the repository.
	Subdir string
	// Ref is a tag, a branch or a commit (full or abbreviated), "" for none.
	Ref string
}

// SourceError is a source that is not a git source this package can fetch.
type SourceError struct {
	Source string
	// Unsupported is set when the source may be well formed but is of a
	// kind runbook does not fetch (another getter or transport).
	Unsupported bool
	Reason      string
}

func (e *SourceError) Error() string { return fmt.Sprintf("module source %q: %s", e.Source, e.Reason) }

// SourceHelp says which sources runbook takes, for messages.
const SourceHelp = "Runbook takes two kinds of module source: local paths (\"./modules/x\", \"../x\") and git repositories " +
	"(\"git::https://host/org/repo.git//subdir?ref=v1.2.0\", \"git::ssh://git@host/org/repo.git\", " +
	"\"git::file:///abs/path/repo.git\")."

// ParseSource reads a non-local module source written in go-getter's
// syntax: the git:: prefix, the repository URL, "//" before a directory
// inside the repository and a ref query parameter.
func ParseSource(s string) (Source, error) {
	rest, ok := strings.CutPrefix(s, gitPrefix)
	if !ok {
		return Source{}, unsupportedSource(s)
	}
	rest, query, _ := strings.Cut(rest, "?")
	ref, err := parseQuery(s, query)
	if err != nil {
		return Source{}, err
	}
	repo, subdir, err := splitSubdir(s, rest)
	if err != nil {
		return Source{}, err
	}
	if err := checkRepoURL(s, repo); err != nil {
		return Source{}, err
	}
	return Source{Repo: repo, Subdir: subdir, Ref: ref}, nil
}

func unsupportedSource(s string) error {
	if getter, _, ok := strings.Cut(s, "::"); ok && !strings.ContainsAny(getter, "/:") {
		return unsupported(s, "it uses the %q getter, and runbook fetches only git sources (git::)", getter)
	}
	return unsupported(s, "it is neither a local path nor a git source")
}

func parseQuery(s, query string) (string, error) {
	if query == "" {
		return "", nil
	}
	q, err := url.ParseQuery(query)
	if err != nil {
		return "", invalid(s, "its query string is not valid: %v", err)
	}
	for k, v := range q {
		if k != "ref" {
			return "", invalid(s, "the only query parameter runbook takes is ref, not %q", k)
		}
		if len(v) != 1 || v[0] == "" {
			return "", invalid(s, "give ref exactly one non-empty value, such as ?ref=v1.2.0")
		}
	}
	return q.Get("ref"), nil
}

// splitSubdir cuts at the first "//" after the scheme's "://", as
// go-getter does, so that file:///abs paths keep their leading slash.
func splitSubdir(s, rest string) (string, string, error) {
	from := 0
	if i := strings.Index(rest, "://"); i >= 0 {
		from = i + len("://")
		if strings.HasPrefix(rest[from:], "/") {
			from++ // file:///abs: the path's own slash
		}
	}
	i := strings.Index(rest[from:], "//")
	if i < 0 {
		return rest, "", nil
	}
	repo, sub := rest[:from+i], rest[from+i+2:]
	clean := path.Clean(sub)
	if sub == "" || clean == "." || path.IsAbs(sub) || clean == ".." || strings.HasPrefix(clean, "../") {
		return "", "", invalid(s, "the directory after \"//\" must be a relative path inside the repository, not %q", sub)
	}
	return repo, clean, nil
}

// scpLike is git's user@host:path form of an ssh URL.
var scpLike = regexp.MustCompile(`^[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:[^/].*$`)

var transports = map[string]bool{"https": true, "http": true, "ssh": true, "git": true, "file": true}

func checkRepoURL(s, repo string) error {
	if repo == "" {
		return invalid(s, "it names no repository after git::")
	}
	if !strings.Contains(repo, "://") {
		if scpLike.MatchString(repo) {
			return nil
		}
		return invalid(s, "%q is not a git URL: write https://..., ssh://..., file:///... or user@host:path", repo)
	}
	u, err := url.Parse(repo)
	if err != nil {
		return invalid(s, "%v", err)
	}
	if !transports[u.Scheme] {
		return unsupported(s, "git over %q is not supported: use https, http, ssh, git or file", u.Scheme)
	}
	if u.Scheme == "file" {
		if u.Host != "" && u.Host != "localhost" || !path.IsAbs(u.Path) {
			return invalid(s, "a file URL takes an absolute path, as in file:///srv/git/repo.git")
		}
		return nil
	}
	if u.Host == "" {
		return invalid(s, "%q names no host", repo)
	}
	return nil
}

func invalid(s, format string, args ...any) error {
	return &SourceError{Source: s, Reason: fmt.Sprintf(format, args...)}
}

func unsupported(s, format string, args ...any) error {
	return &SourceError{Source: s, Unsupported: true, Reason: fmt.Sprintf(format, args...)}
}
