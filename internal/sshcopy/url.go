package sshcopy

import (
	"errors"
	"net"
	"net/url"
	"path"
	"regexp"
	"strconv"
	"strings"
)

// Location is a file or directory on a remote host, written
// sftp://[user@]host[:port]/absolute/path (ssh:// is a synonym).
//
// scp's host:path form is not accepted: a local path may hold a colon,
// and a copy must never go to another host by accident.
type Location struct {
	User string // "" when the URL names none
	Host string // a name or an IP address, without brackets
	Port int
	// Path is absolute, percent-escapes decoded. It ends in "/" when the
	// URL did, which says the caller means a directory.
	Path string
}

// DefaultPort is SSH's port.
const DefaultPort = 22

// ErrURLPassword is returned for a URL with a password in it: a URL is
// shown in plans, logs and outputs, so it must not carry a secret.
var ErrURLPassword = errors.New("the URL holds a password: give it separately, where it is kept secret")

var schemeRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]*://`)

// IsURL reports whether s starts with a scheme ("xxx://"). Such a string
// is never taken for a local path: Parse accepts it or says why not.
func IsURL(s string) bool { return schemeRE.MatchString(strings.TrimSpace(s)) }

// Parse reads an sftp:// or ssh:// URL. Its errors never repeat the URL,
// which may hold a password.
func Parse(s string) (*Location, error) {
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // url.Error repeats the whole URL
		}
		return nil, errors.New("not a valid URL: " + err.Error())
	}
	if u.Scheme != "sftp" && u.Scheme != "ssh" {
		return nil, errors.New("unsupported URL scheme " + strconv.Quote(u.Scheme) +
			": write a remote file as sftp://[user@]host[:port]/absolute/path")
	}
	if _, has := u.User.Password(); has {
		return nil, ErrURLPassword
	}
	if u.RawQuery != "" || u.ForceQuery || u.Fragment != "" {
		return nil, errors.New("the URL has a query or a fragment: write '?' as %3F and '#' as %23 in a path")
	}
	loc := &Location{User: u.User.Username(), Host: u.Hostname(), Port: DefaultPort, Path: u.Path}
	if loc.Host == "" {
		return nil, errors.New("the URL names no host")
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return nil, errors.New("the port " + strconv.Quote(p) + " is not a number from 1 to 65535")
		}
		loc.Port = n
	}
	if !strings.HasPrefix(loc.Path, "/") {
		return nil, errors.New("the URL has no absolute path after the host, as in sftp://host/var/backups/file")
	}
	return loc, nil
}

// Addr is host:port, as dialed.
func (l *Location) Addr() string { return net.JoinHostPort(l.Host, strconv.Itoa(l.Port)) }

// IsDir reports whether the URL's path ends in "/".
func (l *Location) IsDir() bool { return strings.HasSuffix(l.Path, "/") }

// String is the canonical URL of the location.
func (l *Location) String() string { return l.At(l.Path) }

// At is the URL of another path on the same host, as sftp://.
func (l *Location) At(p string) string {
	u := url.URL{Scheme: "sftp", Host: l.Host, Path: p}
	if l.Port != DefaultPort {
		u.Host = l.Addr()
	} else if strings.Contains(l.Host, ":") {
		u.Host = "[" + l.Host + "]"
	}
	if l.User != "" {
		u.User = url.User(l.User)
	}
	return u.String()
}

// Clean is the path without a trailing slash or dot segments.
func (l *Location) Clean() string { return path.Clean(l.Path) }
