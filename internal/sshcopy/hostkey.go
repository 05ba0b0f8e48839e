package sshcopy

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// hostKeys checks the server's key against known_hosts and remembers why
// it refused one, for the error.
type hostKeys struct {
	file       string // the known_hosts file, for the advice
	addr, host string
	port       int
	callback   ssh.HostKeyCallback
	algorithms []string // host key algorithms to ask for, nil for ssh's default
	failure    *Error
}

func (o Options) hostKeyPolicy(addr, host string, port int) (*hostKeys, error) {
	h := &hostKeys{addr: addr, host: host, port: port}
	if o.InsecureIgnoreHostKey {
		h.callback = ssh.InsecureIgnoreHostKey()
		return h, nil
	}
	h.file = expandHome(o.KnownHostsFile)
	if o.KnownHostsFile == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return nil, errorf(KindKnownHosts, "connect to", addr, "", "no known_hosts file given and no home directory (%v)", err)
		}
		h.file = filepath.Join(home, ".ssh", "known_hosts")
	}
	cb, err := knownhosts.New(h.file)
	switch {
	case errors.Is(err, fs.ErrNotExist) && o.KnownHostsFile == "":
		// No file yet is like an empty one: the host is unknown, and the
		// error says how to add it.
		cb, err = knownhosts.New()
	case errors.Is(err, fs.ErrNotExist):
		return nil, errorf(KindKnownHosts, "connect to", addr, "",
			"the known_hosts file %s does not exist; to trust the host's current key: %s", h.file, h.keyscan())
	}
	if err != nil {
		return nil, &Error{Kind: KindKnownHosts, Op: "connect to", Addr: addr, Msg: "reading " + h.file + ": " + err.Error(), Err: err}
	}
	h.callback = cb
	h.algorithms = knownAlgorithms(cb, addr)
	return h, nil
}

func (h *hostKeys) check(hostname string, remote net.Addr, key ssh.PublicKey) error {
	err := h.callback(hostname, remote, key)
	if err != nil {
		h.failure = h.describe(key, err)
		return h.failure
	}
	return nil
}

func (h *hostKeys) keyscan() string {
	return "ssh-keyscan -p " + strconv.Itoa(h.port) + " " + h.host + " >> " + h.file
}

// describe words a refused key: an operator reads it during an incident,
// so it says which key, what was expected and what to do.
func (h *hostKeys) describe(key ssh.PublicKey, err error) *Error {
	offered := key.Type() + " " + ssh.FingerprintSHA256(key)
	e := &Error{Kind: KindHostKey, Op: "connect to", Addr: h.addr, Err: err}
	var keyErr *knownhosts.KeyError
	var revoked *knownhosts.RevokedError
	switch {
	case errors.As(err, &keyErr) && len(keyErr.Want) == 0:
		e.Msg = fmt.Sprintf("host key verification failed: the host is not in %s; it offered the key %s. "+
			"If that is the server's key (compare the fingerprint with `ssh-keygen -lf` of its host key), add it with: %s",
			h.file, offered, h.keyscan())
	case errors.As(err, &keyErr):
		known := keyErr.Want[0]
		e.Msg = fmt.Sprintf("host key verification failed: the host offered %s, but %s:%d holds %s %s for it. "+
			"The host may have been reinstalled, or someone may be intercepting the connection. "+
			"If the new key is genuine, remove the old entry (ssh-keygen -R '%s' -f %s) and add the new one: %s",
			offered, known.Filename, known.Line, known.Key.Type(), ssh.FingerprintSHA256(known.Key),
			knownhosts.Normalize(h.addr), known.Filename, h.keyscan())
	case errors.As(err, &revoked):
		e.Msg = fmt.Sprintf("host key verification failed: the host offered %s, which %s:%d marks as revoked",
			offered, revoked.Revoked.Filename, revoked.Revoked.Line)
	default:
		e.Msg = fmt.Sprintf("host key verification failed for the key %s: %v", offered, err)
	}
	return e
}

// probeKey is offered to the known_hosts check to learn which keys it
// holds for a host: it matches none of them.
var probeKey = func() ssh.PublicKey {
	k, err := ssh.NewPublicKey(ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize)).Public())
	if err != nil {
		panic(err)
	}
	return k
}()

// knownAlgorithms lists the host key algorithms of the keys known_hosts
// holds for addr. Asking the server for those (as OpenSSH does) avoids
// refusing a host whose other key type happens to be negotiated first.
func knownAlgorithms(cb ssh.HostKeyCallback, addr string) []string {
	var keyErr *knownhosts.KeyError
	if !errors.As(cb(addr, &net.TCPAddr{}, probeKey), &keyErr) {
		return nil
	}
	supported := ssh.SupportedAlgorithms().HostKeys
	var out []string
	for _, k := range keyErr.Want {
		algos := []string{k.Key.Type()}
		if k.Key.Type() == ssh.KeyAlgoRSA {
			algos = []string{ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256}
		}
		for _, a := range algos {
			if slices.Contains(supported, a) && !slices.Contains(out, a) {
				out = append(out, a)
			}
		}
	}
	return out
}
