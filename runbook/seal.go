package runbook

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// KeyEnv holds the journal key when it is not kept in the state directory
// (a team's shared backend: every machine that resumes needs the key).
const KeyEnv = "RUNBOOK_JOURNAL_KEY"

// Sealer encrypts sensitive values before they reach the journal, with
// AES-256-GCM, so that the journal never holds a secret in clear while a
// resumed run can still use it.
type Sealer struct {
	aead cipher.AEAD
}

// NewSealer returns a Sealer for a 32-byte key.
func NewSealer(key []byte) (*Sealer, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("journal key: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Sealer{aead: aead}, nil
}

// Seal encrypts plaintext; the nonce travels in front of the ciphertext.
func (s *Sealer) Seal(plaintext []byte) []byte {
	nonce := make([]byte, s.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		panic("crypto/rand failed: " + err.Error()) // the OS entropy source is gone
	}
	return s.aead.Seal(nonce, nonce, plaintext, nil)
}

// Open decrypts what Seal produced.
func (s *Sealer) Open(sealed []byte) ([]byte, error) {
	n := s.aead.NonceSize()
	if len(sealed) < n {
		return nil, errors.New("sealed value too short")
	}
	out, err := s.aead.Open(nil, sealed[:n], sealed[n:], nil)
	if err != nil {
		return nil, fmt.Errorf("cannot decrypt a sensitive value: the journal key differs from the one the run used (%s or %s)", "the state directory's journal.key", KeyEnv)
	}
	return out, nil
}

// ReadKey returns the journal key like LoadKey but never creates one: nil
// when there is none yet (history readers then leave sealed values sealed).
func ReadKey(dir string) ([]byte, error) {
	if os.Getenv(KeyEnv) != "" {
		return LoadKey(dir)
	}
	if _, err := os.Stat(filepath.Join(dir, "journal.key")); os.IsNotExist(err) {
		return nil, nil
	}
	return LoadKey(dir)
}

// LoadKey returns the journal key: from RUNBOOK_JOURNAL_KEY (64 hex
// digits) when set, else from DIR/journal.key, created (0600) on first use.
func LoadKey(dir string) ([]byte, error) {
	if env := strings.TrimSpace(os.Getenv(KeyEnv)); env != "" {
		key, err := hex.DecodeString(env)
		if err != nil || len(key) != 32 {
			return nil, fmt.Errorf("%s must be 64 hexadecimal digits (a 32-byte key)", KeyEnv)
		}
		return key, nil
	}
	path := filepath.Join(dir, "journal.key")
	b, err := os.ReadFile(path)
	if err == nil {
		key, err := hex.DecodeString(strings.TrimSpace(string(b)))
		if err != nil || len(key) != 32 {
			return nil, fmt.Errorf("%s is not a journal key (64 hexadecimal digits)", path)
		}
		return key, nil
	}
	if !os.IsNotExist(err) {
		return nil, err
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		if os.IsExist(err) { // another process created it first: use theirs
			return LoadKey(dir)
		}
		return nil, err
	}
	if _, err := f.WriteString(hex.EncodeToString(key) + "\n"); err != nil {
		_ = f.Close()
		return nil, err
	}
	return key, f.Close()
}
