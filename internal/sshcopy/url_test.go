package sshcopy_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/runbook-dev/runbook/internal/sshcopy"
)

func TestParse(t *testing.T) {
	tests := []struct {
		in   string
		want sshcopy.Location
		addr string
		url  string
	}{
		{in: "sftp://dr@standby.example.com/srv/dr/backup.tgz", want: sshcopy.Location{User: "dr", Host: "standby.example.com", Port: 22, Path: "/srv/dr/backup.tgz"},
			addr: "standby.example.com:22", url: "sftp://dr@standby.example.com/srv/dr/backup.tgz"},
		{in: "ssh://10.0.0.7:2222/srv/dr/", want: sshcopy.Location{Host: "10.0.0.7", Port: 2222, Path: "/srv/dr/"},
			addr: "10.0.0.7:2222", url: "sftp://10.0.0.7:2222/srv/dr/"},
		{in: "SFTP://[fd00::7]/a%20b", want: sshcopy.Location{Host: "fd00::7", Port: 22, Path: "/a b"},
			addr: "[fd00::7]:22", url: "sftp://[fd00::7]/a%20b"},
		{in: "sftp://h/", want: sshcopy.Location{Host: "h", Port: 22, Path: "/"}, addr: "h:22", url: "sftp://h/"},
	}
	for _, tt := range tests {
		if !sshcopy.IsURL(tt.in) {
			t.Errorf("IsURL(%q) = false", tt.in)
		}
		got, err := sshcopy.Parse(tt.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.in, err)
			continue
		}
		if *got != tt.want || got.Addr() != tt.addr || got.String() != tt.url {
			t.Errorf("Parse(%q) = %+v (%s, %s), want %+v (%s, %s)", tt.in, *got, got.Addr(), got, tt.want, tt.addr, tt.url)
		}
	}
}

func TestParseRefuses(t *testing.T) {
	tests := []struct{ in, contains string }{
		{"s3://bucket/key", "unsupported URL scheme"},
		{"sftp://host", "no absolute path"},
		{"sftp:///path", "no host"},
		{"sftp://host:99999/p", "not a number from 1 to 65535"},
		{"sftp://host/p?x=1", "query or a fragment"},
		{"sftp://host/p#frag", "query or a fragment"},
		{"sftp://dr:hunter2-secret@host/p", "password"},
		{"sftp://dr:hunter2-secret@host:bad port/p", "not a valid URL"},
	}
	for _, tt := range tests {
		_, err := sshcopy.Parse(tt.in)
		if err == nil || !strings.Contains(err.Error(), tt.contains) {
			t.Errorf("Parse(%q) = %v, want an error containing %q", tt.in, err, tt.contains)
			continue
		}
		if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("Parse(%q) repeats the password: %v", tt.in, err)
		}
	}
	if _, err := sshcopy.Parse("sftp://u:pw@h/p"); !errors.Is(err, sshcopy.ErrURLPassword) {
		t.Errorf("a password in the URL: %v", err)
	}
	// Local paths, including ones with a colon, are not URLs.
	for _, p := range []string{"/var/backups/a:b", "host:/path", "backup.tgz", "./x://y"} {
		if sshcopy.IsURL(p) {
			t.Errorf("IsURL(%q) = true", p)
		}
	}
}
