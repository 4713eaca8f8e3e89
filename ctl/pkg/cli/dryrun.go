package cli

import (
	"fmt"
	"strconv"

	"github.com/spf13/pflag"
)

// Dry-run strategies, as --dry-run names them and printers.Operation takes them.
const (
	DryRunNone   = "none"
	DryRunClient = "client"
	DryRunServer = "server"
)

// AddDryRunFlag registers kubectl's --dry-run flag into p: "none" by
// default; a bare --dry-run means client.
func AddDryRunFlag(fs *pflag.FlagSet, p *string) {
	fs.StringVar(p, "dry-run", DryRunNone, `Must be "none", "server", or "client". If client strategy, only print the object that would be sent, without sending it. If server strategy, submit server-side request without persisting the resource.`)
	fs.Lookup("dry-run").NoOptDefVal = "unchanged"
}

// DryRunStrategy normalizes a --dry-run value to none, client or server,
// accepting kubectl's deprecated forms (a bare flag, true/false).
func DryRunStrategy(v string) (string, error) {
	if b, err := strconv.ParseBool(v); err == nil {
		if b {
			return DryRunClient, nil
		}
		return DryRunNone, nil
	}
	switch v {
	case "unchanged", DryRunClient:
		return DryRunClient, nil
	case DryRunServer, DryRunNone:
		return v, nil
	}
	return DryRunNone, fmt.Errorf(`Invalid dry-run value (%v). Must be "none", "server", or "client".`, v)
}
