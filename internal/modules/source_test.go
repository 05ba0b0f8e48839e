package modules

import (
	"errors"
	"strings"
	"testing"
)

func TestParseSource(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want Source
	}{
		{"git::https://example.com/org/repo.git", Source{Repo: "https://example.com/org/repo.git"}},
		{"git::https://example.com/org/repo.git//modules/restore?ref=v1.2.0", Source{Repo: "https://example.com/org/repo.git", Subdir: "modules/restore", Ref: "v1.2.0"}},
		{"git::ssh://git@example.com/org/repo.git//x", Source{Repo: "ssh://git@example.com/org/repo.git", Subdir: "x"}},
		{"git::git@example.com:org/repo.git//x?ref=main", Source{Repo: "git@example.com:org/repo.git", Subdir: "x", Ref: "main"}},
		{"git::file:///srv/git/repo.git//sub/dir/?ref=0123abcd", Source{Repo: "file:///srv/git/repo.git", Subdir: "sub/dir", Ref: "0123abcd"}},
		{"git::file:///srv/git/repo.git", Source{Repo: "file:///srv/git/repo.git"}},
	} {
		got, err := ParseSource(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("ParseSource(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
		}
	}
}

func TestParseSourceErrors(t *testing.T) {
	for _, tt := range []struct {
		in          string
		unsupported bool
		reason      string
	}{
		{"github.com/org/repo", true, "neither a local path nor a git source"},
		{"https://example.com/module.zip", true, "neither a local path nor a git source"},
		{"/abs/modules/x", true, "neither a local path nor a git source"},
		{"s3::https://bucket/x.zip", true, `the "s3" getter`},
		{"hg::https://example.com/repo", true, `the "hg" getter`},
		{"git::ftp://example.com/repo.git", true, `git over "ftp" is not supported`},
		{"git::", false, "names no repository"},
		{"git::example.com/repo", false, "is not a git URL"},
		{"git::https:///org/repo.git", false, "names no host"},
		{"git::file://relative/repo.git", false, "absolute path"},
		{"git::https://example.com/repo.git//", false, "relative path inside the repository"},
		{"git::https://example.com/repo.git//../x", false, "relative path inside the repository"},
		{"git::https://example.com/repo.git?ref=", false, "non-empty value"},
		{"git::https://example.com/repo.git?ref=a&ref=b", false, "exactly one"},
		{"git::https://example.com/repo.git?depth=1", false, "only query parameter runbook takes is ref"},
	} {
		_, err := ParseSource(tt.in)
		var se *SourceError
		if !errors.As(err, &se) || se.Unsupported != tt.unsupported || !strings.Contains(se.Reason, tt.reason) {
			t.Errorf("ParseSource(%q) = %v; want unsupported=%v and %q", tt.in, err, tt.unsupported, tt.reason)
		}
	}
}
