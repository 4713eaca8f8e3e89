// Package reload makes the server poll its Corefile and restart with the
// new configuration when the file changes. The server does the work
// (server.Run); this plugin only sets the interval.
package reload
