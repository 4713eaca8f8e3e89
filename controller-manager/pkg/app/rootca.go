package app

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"log/slog"
	"os"

	"k8s.io/client-go/rest"

	"navarch.dev/controller-manager/pkg/controller/rootcacertpublisher"
)

// startRootCACertPublisher publishes the CA bundle of --root-ca-file or,
// without it, the CA the controller-manager itself trusts the apiserver
// with (its kubeconfig's), as upstream does.
func startRootCACertPublisher(ctx context.Context, cc *ControllerContext) error {
	ca, err := rootCA(cc.Options.RootCAFile, cc.Config)
	if err != nil {
		return err
	}
	if len(ca) == 0 {
		slog.Warn("No root CA to publish: pods' ca.crt will be empty; set --root-ca-file", "controller", "root-ca-cert-publisher")
	}
	f := cc.InformerFactory.Core().V1()
	p, err := rootcacertpublisher.New(f.Namespaces(), f.ConfigMaps(), cc.Client, ca)
	if err != nil {
		return err
	}
	cc.Go(func() { p.Run(ctx, 1) })
	return nil
}

// rootCA reads the bundle to publish: file when given (it must hold PEM
// certificates), else the client configuration's CA.
func rootCA(file string, cfg *rest.Config) ([]byte, error) {
	if file != "" {
		return readCABundle(file)
	}
	if cfg == nil {
		return nil, nil
	}
	if len(cfg.CAData) > 0 {
		return cfg.CAData, nil
	}
	if cfg.CAFile != "" {
		return os.ReadFile(cfg.CAFile)
	}
	return nil, nil
}

// readCABundle reads a PEM file of one or more certificates.
func readCABundle(file string) ([]byte, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("--root-ca-file: %w", err)
	}
	n := 0
	for rest := data; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		if _, err := x509.ParseCertificate(block.Bytes); err != nil {
			return nil, fmt.Errorf("--root-ca-file %s: %w", file, err)
		}
		n++
	}
	if n == 0 {
		return nil, fmt.Errorf("--root-ca-file %s: no PEM certificates found", file)
	}
	return data, nil
}
