package cli

import (
	"errors"
	"fmt"
	"net/url"
	"syscall"
)

// connectionMessage is kubectl's wording for a server that refuses the
// connection: "The connection to the server HOST was refused - did you
// specify the right host or port?".
func connectionMessage(err error) (string, bool) {
	if !errors.Is(err, syscall.ECONNREFUSED) {
		return "", false
	}
	var ue *url.Error
	if !errors.As(err, &ue) {
		return "", false
	}
	u, perr := url.Parse(ue.URL)
	if perr != nil || u.Host == "" {
		return "", false
	}
	return fmt.Sprintf("The connection to the server %s was refused - did you specify the right host or port?", u.Host), true
}
