package sshcopy

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
)

// DefaultTimeout bounds the TCP dial and the SSH handshake.
const DefaultTimeout = 30 * time.Second

// Options says how to log in. The zero value logs in as the current user
// with the SSH agent's keys, checking the host key against
// ~/.ssh/known_hosts.
type Options struct {
	// User logs in when the URL names no user; default $USER, else the
	// current user's name.
	User string
	// KeyFile is a private key in OpenSSH, PKCS#1, PKCS#8 or SEC 1 form;
	// KeyPassphrase decrypts it when it is protected.
	KeyFile, KeyPassphrase string
	// Password is offered after the keys, also to keyboard-interactive
	// servers that ask for it in one prompt.
	Password string
	// KnownHostsFile holds the accepted host keys; default
	// ~/.ssh/known_hosts, where a missing file means no host is known.
	KnownHostsFile string
	// InsecureIgnoreHostKey accepts any host key: a machine in the middle
	// can then read and change what is copied.
	InsecureIgnoreHostKey bool
	// Timeout bounds the dial and the handshake; DefaultTimeout when zero.
	Timeout time.Duration
}

// Client is a logged-in SFTP session with one host. It is not safe for
// concurrent use.
type Client struct {
	addr      string
	ssh       *ssh.Client
	sftp      *sftp.Client
	stopCtx   func() bool
	closeOnce sync.Once
	closeErr  error
}

// CancelGrace is how long a client outlives its context: long enough for
// the caller to remove its temporary file over a working connection,
// short enough that a hung server does not hold up a cancelled copy.
const CancelGrace = 2 * time.Second

// Dial connects to loc's host and starts SFTP. The client closes itself
// CancelGrace after ctx ends, which unblocks any operation in flight.
// Agent keys are used when SSH_AUTH_SOCK names a reachable agent.
func Dial(ctx context.Context, loc *Location, o Options) (*Client, error) {
	addr := loc.Addr()
	login := loc.User
	if login == "" {
		login = o.defaultUser()
	}
	auth, err := o.authMethods(addr, login)
	if err != nil {
		return nil, err
	}
	defer auth.close()
	hk, err := o.hostKeyPolicy(addr, loc.Host, loc.Port)
	if err != nil {
		return nil, err
	}
	timeout := o.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	cfg := &ssh.ClientConfig{
		User: login, Auth: auth.methods, HostKeyCallback: hk.check, HostKeyAlgorithms: hk.algorithms,
	}
	sc, err := handshake(ctx, addr, cfg, timeout)
	if err != nil {
		return nil, classifyHandshake(addr, login, auth.offered, hk, err)
	}
	sf, err := sftp.NewClient(sc, sftp.UseConcurrentWrites(true))
	if err != nil {
		_ = sc.Close()
		if ctx.Err() != nil {
			return nil, &Error{Kind: KindConnect, Op: "connect to", Addr: addr, Msg: ctx.Err().Error(), Err: ctx.Err()}
		}
		// The server answered but will not speak SFTP: asking again won't change that.
		return nil, &Error{Kind: KindRemote, Op: "start SFTP on", Addr: addr, Msg: err.Error() + " (is the sftp subsystem enabled in sshd_config?)", Err: err}
	}
	c := &Client{addr: addr, ssh: sc, sftp: sf}
	c.stopCtx = context.AfterFunc(ctx, func() {
		time.AfterFunc(CancelGrace, func() { _ = c.close() })
	})
	return c, nil
}

// Addr is the host:port the client is connected to.
func (c *Client) Addr() string { return c.addr }

// Close ends the session.
func (c *Client) Close() error {
	c.stopCtx()
	return c.close()
}

func (c *Client) close() error {
	c.closeOnce.Do(func() {
		c.closeErr = c.sftp.Close()
		if err := c.ssh.Close(); c.closeErr == nil && !errors.Is(err, net.ErrClosed) {
			c.closeErr = err
		}
	})
	return c.closeErr
}

func (o Options) defaultUser() string {
	if o.User != "" {
		return o.User
	}
	if u := os.Getenv("USER"); u != "" {
		return u
	}
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return ""
}

// handshake dials and logs in within timeout, and gives up when ctx ends.
// ssh.ClientConfig.Timeout covers only the TCP dial, and a host that
// accepts the connection but never answers would hold the handshake.
func handshake(ctx context.Context, addr string, cfg *ssh.ClientConfig, timeout time.Duration) (*ssh.Client, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
	_ = conn.SetDeadline(time.Now().Add(timeout))
	sconn, chans, reqs, err := ssh.NewClientConn(conn, addr, cfg)
	if !stop() && err == nil {
		_ = sconn.Close()
		err = errors.New("interrupted")
	}
	if err != nil {
		_ = conn.Close()
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, fmt.Errorf("%w (%v)", ctxErr, err)
		}
		return nil, err
	}
	_ = conn.SetDeadline(time.Time{})
	return ssh.NewClient(sconn, chans, reqs), nil
}

// classifyHandshake says why the dial or the handshake failed. The host
// key callback records its own failure, which is more precise than the
// wrapped error ssh returns.
func classifyHandshake(addr, login string, offered []string, hk *hostKeys, err error) *Error {
	if hk.failure != nil {
		return hk.failure
	}
	msg := strings.TrimPrefix(err.Error(), "ssh: handshake failed: ")
	var neg *ssh.AlgorithmNegotiationError
	switch {
	case strings.Contains(msg, "ssh: unable to authenticate"):
		return &Error{Kind: KindAuth, Op: "log in to", Addr: addr, Err: err,
			Msg: fmt.Sprintf("the server refused user %q with %s (%s)", login, strings.Join(offered, ", "), msg)}
	case errors.As(err, &neg):
		return &Error{Kind: KindRemote, Op: "connect to", Addr: addr, Msg: msg, Err: err}
	}
	return &Error{Kind: KindConnect, Op: "connect to", Addr: addr, Msg: msg, Err: err}
}

// auth is what Dial offers the server, in order.
type auth struct {
	methods []ssh.AuthMethod
	offered []string // for the error when all are refused
	close   func()
}

// authMethods offers the key file and the agent's keys in one publickey
// method (ssh tries each method name once, so a second publickey method
// would never run), then the password.
func (o Options) authMethods(addr, login string) (*auth, error) {
	a := &auth{close: func() {}}
	var signers []ssh.Signer
	if o.KeyFile != "" {
		s, err := loadKey(expandHome(o.KeyFile), o.KeyPassphrase)
		if err != nil {
			return nil, &Error{Kind: KindKeyFile, Op: "log in to", Addr: addr, Msg: err.Error(), Err: err}
		}
		signers = append(signers, s)
		a.offered = append(a.offered, "the key "+o.KeyFile)
	}
	ag := dialAgent()
	if ag != nil {
		a.close = func() { _ = ag.conn.Close() }
		a.offered = append(a.offered, "the SSH agent's keys")
	}
	if len(signers) > 0 || ag != nil {
		a.methods = append(a.methods, ssh.PublicKeysCallback(func() ([]ssh.Signer, error) {
			return append(signers, ag.signers()...), nil
		}))
	}
	if o.Password != "" {
		a.methods = append(a.methods, ssh.Password(o.Password), ssh.KeyboardInteractive(passwordPrompt(o.Password)))
		a.offered = append(a.offered, "a password")
	}
	if len(a.methods) == 0 {
		return nil, errorf(KindAuth, "log in to", addr, "",
			"no credentials for user %q: give a private key file or a password, or run an SSH agent (SSH_AUTH_SOCK)", login)
	}
	return a, nil
}

// passwordPrompt answers a keyboard-interactive server that asks for the
// password alone, as PAM setups do; anything else is refused.
func passwordPrompt(password string) ssh.KeyboardInteractiveChallenge {
	return func(_, _ string, questions []string, echos []bool) ([]string, error) {
		switch {
		case len(questions) == 0:
			return nil, nil
		case len(questions) == 1 && !echos[0]:
			return []string{password}, nil
		}
		return nil, errors.New("the server asks more than a password")
	}
}

func loadKey(file, passphrase string) (ssh.Signer, error) {
	pem, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("reading the private key: %w", err)
	}
	if passphrase != "" {
		s, err := ssh.ParsePrivateKeyWithPassphrase(pem, []byte(passphrase))
		if err != nil {
			return nil, fmt.Errorf("decrypting the private key %s: %v (wrong passphrase?)", file, err)
		}
		return s, nil
	}
	s, err := ssh.ParsePrivateKey(pem)
	var missing *ssh.PassphraseMissingError
	if errors.As(err, &missing) {
		return nil, fmt.Errorf("the private key %s is protected by a passphrase, and none was given", file)
	}
	if err != nil {
		return nil, fmt.Errorf("the private key %s cannot be read: %v", file, err)
	}
	return s, nil
}

// agentConn is a connection to the user's SSH agent.
type agentConn struct {
	conn   net.Conn
	client agent.ExtendedAgent
}

// dialAgent returns nil when there is no agent to ask: the other
// credentials may still do.
func dialAgent() *agentConn {
	sock := os.Getenv("SSH_AUTH_SOCK")
	if sock == "" {
		return nil
	}
	conn, err := net.DialTimeout("unix", sock, 5*time.Second)
	if err != nil {
		return nil
	}
	return &agentConn{conn: conn, client: agent.NewClient(conn)}
}

func (a *agentConn) signers() []ssh.Signer {
	if a == nil {
		return nil
	}
	s, err := a.client.Signers()
	if err != nil {
		return nil
	}
	return s
}

// expandHome reads a leading "~/" as the home directory, as ssh does.
func expandHome(p string) string {
	if rest, ok := strings.CutPrefix(p, "~/"); ok {
		if home, err := os.UserHomeDir(); err == nil {
			return filepath.Join(home, rest)
		}
	}
	return p
}
