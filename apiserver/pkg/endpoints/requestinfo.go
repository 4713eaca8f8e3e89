package endpoints

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/runtime/schema"
)

// RequestInfo is what a resource URL names.
type RequestInfo struct {
	GroupVersion schema.GroupVersion
	Resource     string
	Namespace    string
	Name         string
	Subresource  string
	// Verb is the API verb: get, list, watch, create, update, patch, delete,
	// deletecollection.
	Verb string
}

// ParseRequestInfo reads /api/v1/... and /apis/<group>/<version>/... paths.
// It returns false for paths that are not resource paths (discovery).
func ParseRequestInfo(method, path string, watchParam bool) (*RequestInfo, bool, error) {
	parts := splitPath(path)
	ri := &RequestInfo{}
	switch {
	case len(parts) >= 3 && parts[0] == "api":
		ri.GroupVersion = schema.GroupVersion{Version: parts[1]}
		parts = parts[2:]
	case len(parts) >= 4 && parts[0] == "apis":
		ri.GroupVersion = schema.GroupVersion{Group: parts[1], Version: parts[2]}
		parts = parts[3:]
	default:
		return nil, false, nil
	}
	// namespaces/<ns>/<resource>/... except namespaces/<name>[/status|/finalize].
	if parts[0] == "namespaces" && len(parts) >= 3 && parts[2] != "status" && parts[2] != "finalize" {
		ri.Namespace = parts[1]
		parts = parts[2:]
	}
	ri.Resource = parts[0]
	if len(parts) > 1 {
		ri.Name = parts[1]
	}
	if len(parts) > 2 {
		ri.Subresource = parts[2]
	}
	// Only proxy subresources take a path after them (nodes/<n>/proxy/<path>).
	if len(parts) > 3 && ri.Subresource != "proxy" {
		return nil, true, fmt.Errorf("the server could not find the requested resource")
	}
	if ri.Resource == "namespaces" && ri.Name != "" && ri.Namespace == "" {
		// A namespace is its own namespace for the purposes of authorization.
		ri.Namespace = ""
	}
	switch method {
	case "GET", "HEAD":
		switch {
		case ri.Name == "" && watchParam:
			ri.Verb = "watch"
		case ri.Name == "":
			ri.Verb = "list"
		default:
			ri.Verb = "get"
		}
	case "POST":
		ri.Verb = "create"
	case "PUT":
		ri.Verb = "update"
	case "PATCH":
		ri.Verb = "patch"
	case "DELETE":
		if ri.Name == "" {
			ri.Verb = "deletecollection"
		} else {
			ri.Verb = "delete"
		}
	default:
		return nil, true, fmt.Errorf("method %s not allowed", method)
	}
	return ri, true, nil
}

func splitPath(p string) []string {
	p = strings.Trim(p, "/")
	if p == "" {
		return nil
	}
	return strings.Split(p, "/")
}
