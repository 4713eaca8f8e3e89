package iptables

import "testing"

func TestFailedLineQuotesTheRefusedLine(t *testing.T) {
	in := []byte("*nat\n:KUBE-SERVICES - [0:0]\n-D \nCOMMIT\n")
	out := []byte("iptables-nft-restore v1.8.9 (nf_tables): option \"-D\" requires an argument\nError occurred at line: 3\nTry `iptables-nft-restore -h' for more information.")
	if got, want := failedLine(in, out), ` (line 3: "-D ")`; got != want {
		t.Errorf("failedLine = %q, want %q", got, want)
	}
	if got := failedLine(in, []byte("iptables-nft-restore: line 9 failed")); got != "" {
		t.Errorf("failedLine without a line number = %q, want nothing", got)
	}
	if got := failedLine(in, []byte("Error occurred at line: 40")); got != "" {
		t.Errorf("failedLine past the input = %q, want nothing", got)
	}
}
