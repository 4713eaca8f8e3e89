// Command navarch-proxy runs on every node and programs Service virtual IPs
// with iptables or IPVS.
package main

import (
	"fmt"
	"log/slog"
	"os"

	"github.com/spf13/pflag"

	"navarch.dev/proxy/pkg/app"
	"navarch.dev/shared/component"
)

func main() {
	cfg := app.Defaults()
	var logOpts component.LoggingOptions
	fs := pflag.CommandLine
	logOpts.AddFlags(fs)
	fs.StringVar(&cfg.Kubeconfig, "kubeconfig", "", "path to a kubeconfig file with the proxy's credentials")
	fs.StringVar(&cfg.Mode, "proxy-mode", cfg.Mode, `which proxy mode to use: "iptables" or "ipvs" (falls back to iptables when the kernel has no IPVS)`)
	fs.StringVar(&cfg.IPVSScheduler, "ipvs-scheduler", cfg.IPVSScheduler, "IPVS scheduler: rr, lc, dh, sh, sed or nq")
	fs.DurationVar(&cfg.MinSyncPeriod, "iptables-min-sync-period", cfg.MinSyncPeriod, "minimum time between rule syncs")
	fs.DurationVar(&cfg.SyncPeriod, "iptables-sync-period", cfg.SyncPeriod, "maximum time between syncs; a periodic sync rewrites nothing unless the canary chain is gone (full syncs happen hourly, as upstream)")
	fs.StringVar(&cfg.HostnameOverride, "hostname-override", "", "the node name to use instead of the hostname")
	fs.StringVar(&cfg.ClusterCIDR, "cluster-cidr", "", "the pod network CIDR (IPv4,IPv6 on dual-stack nodes); traffic to Services from outside it is masqueraded")
	fs.BoolVar(&cfg.MasqueradeAll, "masquerade-all", false, "masquerade all traffic sent to Service cluster IPs")
	fs.StringVar(&cfg.HealthzBindAddress, "healthz-bind-address", cfg.HealthzBindAddress, "address for the /healthz server (empty to disable)")
	fs.StringVar(&cfg.MetricsBindAddress, "metrics-bind-address", cfg.MetricsBindAddress, "address for the /metrics server (empty to disable)")
	fs.StringVar(&cfg.IPTablesBackend, "iptables-backend", cfg.IPTablesBackend, `Navarch: iptables backend, "legacy", "nft" or "auto": the backend that already holds Kubernetes chains, else the one holding more of the host's rules, else nft (partial syncs proportional to the change)`)
	fs.StringSliceVar(&cfg.NodePortAddresses, "nodeport-addresses", nil, `CIDRs (or "primary" for the node's primary IPs) of the local addresses NodePorts answer on; empty for all`)
	fs.BoolVar(&cfg.Cleanup, "cleanup", false, "remove every rule the proxy installed, then exit")
	pflag.Parse()
	if err := component.SetupLogging(logOpts); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	if err := app.Run(component.SignalContext(), cfg); err != nil {
		slog.Error("navarch-proxy failed", "err", err)
		os.Exit(1)
	}
}
