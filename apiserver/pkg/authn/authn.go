// Package authn identifies the user behind a request: x509 client certificates
// (CN is the user, O the groups) and static bearer tokens from a CSV file in
// upstream's --token-auth-file format.
package authn

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"encoding/binary"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"
)

// User is an authenticated identity.
type User struct {
	Name   string
	UID    string
	Groups []string
	// Extra holds further facts about the user (for a service account
	// token: the pod it is bound to and the token's ID), as upstream's
	// user.Info Extra.
	Extra map[string][]string
}

// Well-known groups.
const (
	GroupAuthenticated   = "system:authenticated"
	GroupUnauthenticated = "system:unauthenticated"
	GroupMasters         = "system:masters"
	UserAnonymous        = "system:anonymous"
)

// Authenticator finds the user of a request. ok is false when the request
// carries no credentials this authenticator understands; err is set when it
// carries credentials that are wrong.
type Authenticator interface {
	Authenticate(r *http.Request) (u *User, ok bool, err error)
}

// X509 authenticates requests by their client certificate, verified against
// Roots for client use. The TLS server only asks for the certificate, so a
// certificate from another authority reaches here and is refused with 401,
// as upstream does. An X509 made by NewX509 remembers the chains it has
// verified (until the first of their certificates expires), so a client
// pays for the signature checks once, not on every request; the zero value
// with Roots set verifies every time.
type X509 struct {
	Roots    *x509.CertPool
	verified *verifiedChains
}

// NewX509 returns an X509 authenticator for roots that caches verified chains.
func NewX509(roots *x509.CertPool) X509 {
	return X509{Roots: roots, verified: &verifiedChains{byKey: map[[sha256.Size]byte]verifiedChain{}}}
}

func (a X509) Authenticate(r *http.Request) (*User, bool, error) {
	if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 {
		return nil, false, nil
	}
	peer := r.TLS.PeerCertificates
	cert := peer[0]
	if a.Roots == nil {
		return nil, false, errors.New("authn: client certificate given but no client CA is configured")
	}
	now := time.Now()
	var key [sha256.Size]byte
	if a.verified != nil {
		key = chainKey(peer)
		if a.verified.valid(key, now) {
			return userOf(cert), true, nil
		}
	}
	inter := x509.NewCertPool()
	for _, c := range peer[1:] {
		inter.AddCert(c)
	}
	chains, err := cert.Verify(x509.VerifyOptions{Roots: a.Roots, Intermediates: inter, CurrentTime: now, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
	if err != nil {
		return nil, false, fmt.Errorf("authn: client certificate: %w", err)
	}
	if cert.Subject.CommonName == "" {
		return nil, false, errors.New("authn: client certificate has no common name")
	}
	if a.verified != nil {
		// The result holds while every certificate of the chain is valid.
		notAfter := cert.NotAfter
		for _, c := range chains[0] {
			if c.NotAfter.Before(notAfter) {
				notAfter = c.NotAfter
			}
		}
		a.verified.add(key, notAfter, now)
	}
	return userOf(cert), true, nil
}

func userOf(cert *x509.Certificate) *User {
	return &User{Name: cert.Subject.CommonName, Groups: append([]string(nil), cert.Subject.Organization...)}
}

// chainKey identifies the presented chain: the leaf and the intermediates
// that came with it, byte for byte.
func chainKey(peer []*x509.Certificate) [sha256.Size]byte {
	h := sha256.New()
	for _, c := range peer {
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(len(c.Raw)))
		h.Write(n[:])
		h.Write(c.Raw)
	}
	var key [sha256.Size]byte
	h.Sum(key[:0])
	return key
}

// maxVerifiedChains bounds the cache; beyond it, expired entries are
// dropped and, if that is not enough, everything is.
const maxVerifiedChains = 4096

type verifiedChain struct{ notAfter time.Time }

type verifiedChains struct {
	mu    sync.RWMutex
	byKey map[[sha256.Size]byte]verifiedChain
}

func (v *verifiedChains) valid(key [sha256.Size]byte, now time.Time) bool {
	v.mu.RLock()
	e, ok := v.byKey[key]
	v.mu.RUnlock()
	return ok && !now.After(e.notAfter)
}

func (v *verifiedChains) add(key [sha256.Size]byte, notAfter, now time.Time) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if len(v.byKey) >= maxVerifiedChains {
		for k, e := range v.byKey {
			if now.After(e.notAfter) {
				delete(v.byKey, k)
			}
		}
		if len(v.byKey) >= maxVerifiedChains {
			clear(v.byKey)
		}
	}
	v.byKey[key] = verifiedChain{notAfter: notAfter}
}

// Tokens authenticates bearer tokens from a static table.
type Tokens struct {
	users map[string]*User
}

// LoadTokenFile reads upstream's token file: token,user,uid[,"group1,group2"]
// per line; lines starting with # are skipped.
func LoadTokenFile(path string) (*Tokens, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("authn: open token file: %w", err)
	}
	defer f.Close()
	return ParseTokens(f)
}

// ParseTokens reads a token file's contents.
func ParseTokens(r io.Reader) (*Tokens, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.Comment = '#'
	cr.TrimLeadingSpace = true
	t := &Tokens{users: map[string]*User{}}
	line := 0
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		line++
		if err != nil {
			return nil, fmt.Errorf("authn: token file: %w", err)
		}
		if len(rec) < 3 {
			return nil, fmt.Errorf("authn: token file record %d: want token,user,uid[,groups], got %d fields", line, len(rec))
		}
		if rec[0] == "" {
			return nil, fmt.Errorf("authn: token file record %d: empty token", line)
		}
		u := &User{Name: rec[1], UID: rec[2]}
		if len(rec) > 3 && rec[3] != "" {
			for _, g := range strings.Split(rec[3], ",") {
				if g = strings.TrimSpace(g); g != "" {
					u.Groups = append(u.Groups, g)
				}
			}
		}
		t.users[rec[0]] = u
	}
	return t, nil
}

func (t *Tokens) Authenticate(r *http.Request) (*User, bool, error) {
	token, ok := BearerToken(r)
	if !ok {
		return nil, false, nil
	}
	return t.AuthenticateToken(token)
}

// BearerToken is the token of the request's "Authorization: Bearer" header.
func BearerToken(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	const prefix = "bearer "
	if len(h) <= len(prefix) || !strings.EqualFold(h[:len(prefix)], prefix) {
		return "", false
	}
	token := strings.TrimSpace(h[len(prefix):])
	return token, token != ""
}

// AuthenticateToken finds the user of a token from the table; an unknown
// token is an error.
func (t *Tokens) AuthenticateToken(token string) (*User, bool, error) {
	for tok, u := range t.users {
		if subtle.ConstantTimeCompare([]byte(tok), []byte(token)) == 1 {
			return u, true, nil
		}
	}
	return nil, false, errors.New("authn: invalid bearer token")
}

// Union tries each authenticator in order; the first that recognises the
// request decides.
type Union []Authenticator

func (u Union) Authenticate(r *http.Request) (*User, bool, error) {
	var errs []error
	for _, a := range u {
		user, ok, err := a.Authenticate(r)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if ok {
			return withAuthenticated(user), true, nil
		}
	}
	return nil, false, errors.Join(errs...)
}

func withAuthenticated(u *User) *User {
	out := &User{Name: u.Name, UID: u.UID, Groups: append([]string(nil), u.Groups...), Extra: u.Extra}
	for _, g := range out.Groups {
		if g == GroupAuthenticated {
			return out
		}
	}
	out.Groups = append(out.Groups, GroupAuthenticated)
	return out
}

type ctxKey struct{}

// WithUser returns ctx carrying u.
func WithUser(ctx context.Context, u *User) context.Context {
	return context.WithValue(ctx, ctxKey{}, u)
}

// UserFrom returns the request's user, if authenticated.
func UserFrom(ctx context.Context) (*User, bool) {
	u, ok := ctx.Value(ctxKey{}).(*User)
	return u, ok
}
