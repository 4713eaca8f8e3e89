// Package embedded runs an etcd member inside the apiserver process, the
// single-machine default when no --etcd-servers are given.
package embedded

import (
	"fmt"
	"net/url"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
)

// Config places the member.
type Config struct {
	// DataDir holds the member's data.
	DataDir string
	// ClientURL and PeerURL are where it listens, e.g. http://127.0.0.1:2379.
	ClientURL, PeerURL string
}

// Etcd is a running embedded member.
type Etcd struct {
	e *embed.Etcd
	// Endpoint is the client URL to dial.
	Endpoint string
}

// Start starts the member and waits until it serves.
func Start(cfg Config) (*Etcd, error) {
	c := embed.NewConfig()
	c.Dir = cfg.DataDir
	c.Name = "navarch"
	cu, err := url.Parse(cfg.ClientURL)
	if err != nil {
		return nil, fmt.Errorf("embedded etcd: client url: %w", err)
	}
	pu, err := url.Parse(cfg.PeerURL)
	if err != nil {
		return nil, fmt.Errorf("embedded etcd: peer url: %w", err)
	}
	c.ListenClientUrls, c.AdvertiseClientUrls = []url.URL{*cu}, []url.URL{*cu}
	c.ListenPeerUrls, c.AdvertisePeerUrls = []url.URL{*pu}, []url.URL{*pu}
	c.InitialCluster = c.InitialClusterFromName(c.Name)
	c.LogLevel = "error"
	c.WatchProgressNotifyInterval = 5 * time.Second
	// Snapshot more often than the default so restarts replay a short WAL.
	c.SnapshotCount = 10000
	e, err := embed.StartEtcd(c)
	if err != nil {
		return nil, fmt.Errorf("embedded etcd: start: %w", err)
	}
	select {
	case <-e.Server.ReadyNotify():
	case err := <-e.Err():
		e.Close()
		return nil, fmt.Errorf("embedded etcd: %w", err)
	case <-time.After(60 * time.Second):
		e.Close()
		return nil, fmt.Errorf("embedded etcd: not ready after 60s")
	}
	return &Etcd{e: e, Endpoint: cu.String()}, nil
}

// Err reports a fatal error of the running member.
func (e *Etcd) Err() <-chan error { return e.e.Err() }

// Close stops the member.
func (e *Etcd) Close() { e.e.Close() }
