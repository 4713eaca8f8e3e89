package serviceaccount

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	jose "github.com/go-jose/go-jose/v4"
)

// EnsureKeyPair returns the path of the service account signing key in dir
// (sa.key, with its public half in sa.pub), generating an RSA 2048 key the
// first time, as kubeadm does.
func EnsureKeyPair(dir string) (string, error) {
	keyPath, pubPath := filepath.Join(dir, "sa.key"), filepath.Join(dir, "sa.pub")
	if _, err := os.Stat(keyPath); err == nil {
		return keyPath, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("serviceaccount: %w", err)
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return "", fmt.Errorf("serviceaccount: generate signing key: %w", err)
	}
	pub, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return "", fmt.Errorf("serviceaccount: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("serviceaccount: %w", err)
	}
	if err := os.WriteFile(pubPath, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}), 0o644); err != nil {
		return "", fmt.Errorf("serviceaccount: write public key: %w", err)
	}
	// The private key is written last, so a present sa.key means a whole pair.
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	if err := os.WriteFile(keyPath, keyPEM, 0o600); err != nil {
		return "", fmt.Errorf("serviceaccount: write signing key: %w", err)
	}
	return keyPath, nil
}

// LoadSigningKey reads a PEM private key (RSA in PKCS#1 or PKCS#8, ECDSA in
// SEC 1 or PKCS#8) to sign tokens with.
func LoadSigningKey(path string) (crypto.Signer, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("serviceaccount: signing key: %w", err)
	}
	for rest := data; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			return nil, fmt.Errorf("serviceaccount: signing key %s holds no PEM private key", path)
		}
		if k, err := parsePrivateKey(b); err == nil && k != nil {
			return k, nil
		}
	}
}

func parsePrivateKey(b *pem.Block) (crypto.Signer, error) {
	switch b.Type {
	case "RSA PRIVATE KEY":
		return x509.ParsePKCS1PrivateKey(b.Bytes)
	case "EC PRIVATE KEY":
		return x509.ParseECPrivateKey(b.Bytes)
	case "PRIVATE KEY":
		k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
		if err != nil {
			return nil, err
		}
		switch k := k.(type) {
		case *rsa.PrivateKey:
			return k, nil
		case *ecdsa.PrivateKey:
			return k, nil
		}
		return nil, fmt.Errorf("unsupported private key type %T", k)
	}
	return nil, nil
}

// LoadPublicKeys reads every key of a PEM file of public keys, certificates
// or private keys (whose public halves are taken), as upstream's
// --service-account-key-file accepts.
func LoadPublicKeys(path string) ([]crypto.PublicKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("serviceaccount: key file: %w", err)
	}
	var keys []crypto.PublicKey
	for rest := data; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		switch b.Type {
		case "PUBLIC KEY":
			k, err := x509.ParsePKIXPublicKey(b.Bytes)
			if err != nil {
				return nil, fmt.Errorf("serviceaccount: key file %s: %w", path, err)
			}
			keys = append(keys, k)
		case "RSA PUBLIC KEY":
			k, err := x509.ParsePKCS1PublicKey(b.Bytes)
			if err != nil {
				return nil, fmt.Errorf("serviceaccount: key file %s: %w", path, err)
			}
			keys = append(keys, k)
		case "CERTIFICATE":
			c, err := x509.ParseCertificate(b.Bytes)
			if err != nil {
				return nil, fmt.Errorf("serviceaccount: key file %s: %w", path, err)
			}
			keys = append(keys, c.PublicKey)
		default:
			k, err := parsePrivateKey(b)
			if err != nil {
				return nil, fmt.Errorf("serviceaccount: key file %s: %w", path, err)
			}
			if k != nil {
				keys = append(keys, k.Public())
			}
		}
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("serviceaccount: key file %s holds no PEM public keys", path)
	}
	for _, k := range keys {
		if _, err := algorithmOf(k); err != nil {
			return nil, fmt.Errorf("serviceaccount: key file %s: %w", path, err)
		}
	}
	return keys, nil
}

// algorithmOf is the JWS algorithm tokens signed by key's pair use.
func algorithmOf(pub crypto.PublicKey) (jose.SignatureAlgorithm, error) {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		return jose.RS256, nil
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256():
			return jose.ES256, nil
		case elliptic.P384():
			return jose.ES384, nil
		case elliptic.P521():
			return jose.ES512, nil
		}
		return "", fmt.Errorf("unsupported ECDSA curve %s", k.Curve.Params().Name)
	}
	return "", fmt.Errorf("unsupported key type %T (RSA or ECDSA)", pub)
}

// keyID names a public key in token headers: the unpadded base64url SHA-256
// of its PKIX form, as upstream.
func keyID(pub crypto.PublicKey) (string, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(der)
	return base64.RawURLEncoding.EncodeToString(sum[:]), nil
}
