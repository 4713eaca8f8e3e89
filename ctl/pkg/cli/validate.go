package cli

import (
	"fmt"

	"github.com/spf13/pflag"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// AddValidateFlag registers kubectl's --validate flag into p: "strict" by
// default, and a bare --validate means strict too.
func AddValidateFlag(fs *pflag.FlagSet, p *string) {
	fs.StringVar(p, "validate", "strict", `Must be one of: strict (or true), warn, ignore (or false). "true" or "strict" will use a schema to validate the input and fail the request if invalid. It will perform server side validation if ServerSideFieldValidation is enabled on the api-server, but will fall back to less reliable client-side validation if not. "warn" will warn about unknown or duplicate fields without blocking the request if server-side field validation is enabled on the API server, and behave as "ignore" otherwise. "false" or "ignore" will not perform any schema validation, silently dropping any unknown or duplicate fields.`)
	fs.Lookup("validate").NoOptDefVal = "strict"
}

// FieldValidation turns a --validate value into the fieldValidation query
// parameter the server takes: Strict, Warn or Ignore.
func FieldValidation(v string) (string, error) {
	switch v {
	case "strict", "true":
		return metav1.FieldValidationStrict, nil
	case "warn":
		return metav1.FieldValidationWarn, nil
	case "ignore", "false":
		return metav1.FieldValidationIgnore, nil
	}
	return "", fmt.Errorf("invalid - validate option %q; must be one of: strict (or true), warn, ignore (or false)", v)
}
