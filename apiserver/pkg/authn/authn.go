// Package authn identifies the user behind a request: x509 client certificates
// (CN is the user, O the groups) and static bearer tokens from a CSV file in
// upstream's --token-auth-file format.
package authn

import (
	"context"
	"crypto/subtle"
	"crypto/x509"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
)

// User is an authenticated identity.
type User struct {
	Name   string
	UID    string
	Groups []string
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
// as upstream does.
type X509 struct {
	Roots *x509.CertPool
}

func (a X509) Authenticate(r *http.Request) (*User, bool, error) {
	if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 {
		return nil, false, nil
	}
	cert := r.TLS.PeerCertificates[0]
	inter := x509.NewCertPool()
	for _, c := range r.TLS.PeerCertificates[1:] {
		inter.AddCert(c)
	}
	if a.Roots == nil {
		return nil, false, errors.New("authn: client certificate given but no client CA is configured")
	}
	if _, err := cert.Verify(x509.VerifyOptions{Roots: a.Roots, Intermediates: inter, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		return nil, false, fmt.Errorf("authn: client certificate: %w", err)
	}
	if cert.Subject.CommonName == "" {
		return nil, false, errors.New("authn: client certificate has no common name")
	}
	return &User{Name: cert.Subject.CommonName, Groups: append([]string(nil), cert.Subject.Organization...)}, true, nil
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
	h := r.Header.Get("Authorization")
	const prefix = "bearer "
	if len(h) <= len(prefix) || !strings.EqualFold(h[:len(prefix)], prefix) {
		return nil, false, nil
	}
	token := strings.TrimSpace(h[len(prefix):])
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
	out := &User{Name: u.Name, UID: u.UID, Groups: append([]string(nil), u.Groups...)}
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
