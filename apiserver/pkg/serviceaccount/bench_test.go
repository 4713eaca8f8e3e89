package serviceaccount

import (
	"context"
	"crypto"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"navarch.dev/apiserver/pkg/authn"
)

// BenchmarkAuthenticate measures checking a pod-bound token (signature,
// claims, service account and pod lookups) beside the reference of a
// static --token-auth-file lookup in a table of 100 tokens.
func BenchmarkAuthenticate(b *testing.B) {
	key := newKey(b)
	issuer, _ := NewIssuer(iss, key)
	objs := objects{
		"serviceaccounts/ns/sa": &corev1.ServiceAccount{ObjectMeta: meta("sa", "ns", "sa-uid")},
		"pods/ns/p":             &corev1.Pod{ObjectMeta: meta("p", "ns", "pod-uid")},
	}
	a := &Authenticator{Issuers: []string{iss}, Keys: []crypto.PublicKey{key.Public()}, APIAudiences: []string{iss}, Objects: objs}
	tok, _, err := issuer.Issue(Claims{Namespace: "ns", ServiceAccount: Ref{Name: "sa", UID: "sa-uid"}, Pod: &Ref{Name: "p", UID: "pod-uid"}, Audiences: []string{iss}, Expiration: time.Hour}, time.Now())
	if err != nil {
		b.Fatal(err)
	}
	b.Run("bound-token", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if _, _, ok, err := a.AuthenticateToken(context.Background(), tok, nil); !ok {
				b.Fatal(err)
			}
		}
	})
	var csv strings.Builder
	for i := 0; i < 100; i++ {
		fmt.Fprintf(&csv, "token-%03d,user%d,%d\n", i, i, i)
	}
	static, err := authn.ParseTokens(strings.NewReader(csv.String()))
	if err != nil {
		b.Fatal(err)
	}
	b.Run("reference-static-token-file", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if _, ok, err := static.AuthenticateToken("token-050"); !ok {
				b.Fatal(err)
			}
		}
	})
}
