// Package authz decides whether a user may perform a request. It is the seam
// the RBAC and Node authorizers plug into; for now the only mode is
// AlwaysAllow: every authenticated user may do everything.
package authz

import (
	"context"
	"fmt"

	authorizationv1 "k8s.io/api/authorization/v1"

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

// RuleResolver lists what a user may do in a namespace, for
// SelfSubjectRulesReview (kubectl auth can-i --list). An authorizer that
// cannot list its rules does not implement it; incomplete says the list
// may leave out some of what the user may do.
type RuleResolver interface {
	RulesFor(ctx context.Context, u *authn.User, namespace string) (resource []authorizationv1.ResourceRule, nonResource []authorizationv1.NonResourceRule, incomplete bool, err error)
}

// AlwaysAllow allows every request.
type AlwaysAllow struct{}

func (AlwaysAllow) Authorize(context.Context, Attributes) (Decision, string, error) {
	return Allow, "", nil
}

// RulesFor implements RuleResolver: everything is allowed.
func (AlwaysAllow) RulesFor(context.Context, *authn.User, string) ([]authorizationv1.ResourceRule, []authorizationv1.NonResourceRule, bool, error) {
	return []authorizationv1.ResourceRule{{Verbs: []string{"*"}, APIGroups: []string{"*"}, Resources: []string{"*"}}},
		[]authorizationv1.NonResourceRule{{Verbs: []string{"*"}, NonResourceURLs: []string{"*"}}}, false, nil
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

// RulesFor implements RuleResolver with the rules of every authorizer of
// the chain; one that cannot list its rules makes the answer incomplete.
func (c Chain) RulesFor(ctx context.Context, u *authn.User, namespace string) ([]authorizationv1.ResourceRule, []authorizationv1.NonResourceRule, bool, error) {
	var res []authorizationv1.ResourceRule
	var nonRes []authorizationv1.NonResourceRule
	incomplete := false
	for _, z := range c {
		rr, ok := z.(RuleResolver)
		if !ok {
			incomplete = true
			continue
		}
		r, n, inc, err := rr.RulesFor(ctx, u, namespace)
		if err != nil {
			return res, nonRes, true, err
		}
		res, nonRes = append(res, r...), append(nonRes, n...)
		incomplete = incomplete || inc
	}
	return res, nonRes, incomplete, nil
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
