// Package bind restricts the addresses a server block listens on. It adds
// no handler: the server reads Config.ListenHosts.
package bind
