package printers

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/api/resource"
)

// lessValue orders two --sort-by keys: missing keys first, then numbers by
// value, quantities by amount, other values in natural string order.
func lessValue(a, b any) bool {
	if a == nil || b == nil {
		return a == nil && b != nil
	}
	if fa, ok := number(a); ok {
		if fb, ok := number(b); ok {
			return fa < fb
		}
	}
	sa, aStr := a.(string)
	sb, bStr := b.(string)
	if aStr && bStr {
		qa, errA := resource.ParseQuantity(sa)
		qb, errB := resource.ParseQuantity(sb)
		if errA == nil && errB == nil {
			return qa.Cmp(qb) < 0
		}
		return naturalLess(sa, sb)
	}
	if ba, ok := a.(bool); ok {
		if bb, ok := b.(bool); ok {
			return !ba && bb
		}
	}
	return naturalLess(fmt.Sprint(a), fmt.Sprint(b))
}

func number(v any) (float64, bool) {
	switch n := v.(type) {
	case float64:
		return n, true
	case int64:
		return float64(n), true
	case int:
		return float64(n), true
	}
	return 0, false
}

// naturalLess compares strings with runs of digits compared as numbers,
// so "web-2" sorts before "web-10".
func naturalLess(a, b string) bool {
	for a != "" && b != "" {
		da, db := isDigit(a[0]), isDigit(b[0])
		switch {
		case da && db:
			na, ra := digitRun(a)
			nb, rb := digitRun(b)
			ta, tb := strings.TrimLeft(na, "0"), strings.TrimLeft(nb, "0")
			if len(ta) != len(tb) {
				return len(ta) < len(tb)
			}
			if ta != tb {
				return ta < tb
			}
			if len(na) != len(nb) {
				return len(na) < len(nb)
			}
			a, b = ra, rb
		case a[0] != b[0]:
			return a[0] < b[0]
		default:
			a, b = a[1:], b[1:]
		}
	}
	return len(a) < len(b)
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func digitRun(s string) (digits, rest string) {
	i := 0
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	return s[:i], s[i:]
}
