// Package authz decides whether a user may perform a request. It is the seam
// the RBAC and Node authorizers plug into; for now the only mode is
// AlwaysAllow: every authenticated user may do everything.
package authz

import (
	"context"
	"fmt"

	"navarch.dev/apiserver/pkg/authn"
)

// Attributes describe one request to an authorizer.
type Attributes struct {
	User        *authn.User
	Verb        string
	Group       string
	Version     string
	Resource    string
	Subresource string
	Namespace   string
	Name        string
	// Path is set for non-resource requests (/healthz, /version).
	Path string
}

// Decision is an authorizer's answer.
type Decision int

const (
	// NoOpinion lets the next authorizer decide; if none allows, the request is denied.
	NoOpinion Decision = iota
	Allow
	Deny
)

// Authorizer decides on a request.
type Authorizer interface {
	Authorize(ctx context.Context, a Attributes) (Decision, string, error)
}

// AlwaysAllow allows every request.
type AlwaysAllow struct{}

func (AlwaysAllow) Authorize(context.Context, Attributes) (Decision, string, error) {
	return Allow, "", nil
}

// Chain asks each authorizer in order until one allows or denies.
type Chain []Authorizer

func (c Chain) Authorize(ctx context.Context, a Attributes) (Decision, string, error) {
	for _, z := range c {
		d, reason, err := z.Authorize(ctx, a)
		if err != nil {
			return Deny, reason, err
		}
		if d != NoOpinion {
			return d, reason, nil
		}
	}
	return NoOpinion, "no authorizer allowed the request", nil
}

// New builds the chain named by --authorization-mode (comma-separated).
func New(modes []string) (Authorizer, error) {
	var c Chain
	for _, m := range modes {
		switch m {
		case "AlwaysAllow":
			c = append(c, AlwaysAllow{})
		default:
			return nil, fmt.Errorf("authz: unknown authorization mode %q (supported: AlwaysAllow)", m)
		}
	}
	if len(c) == 0 {
		return nil, fmt.Errorf("authz: at least one authorization mode is required")
	}
	return c, nil
}
