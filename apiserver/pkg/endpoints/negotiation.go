package endpoints

import (
	"mime"
	"net/http"
	"strings"
)

// output is the representation a client asked for in Accept.
type output int

const (
	outputObject   output = iota // the object itself, JSON
	outputTable                  // meta.k8s.io/v1 Table
	outputMetadata               // meta.k8s.io/v1 PartialObjectMetadata(List)
)

// negotiate picks the first Accept entry this server can produce: JSON or
// protobuf, as the object itself, a Table (JSON only) or partial object
// metadata. ok is false when nothing acceptable is left (406).
func negotiate(r *http.Request) (out output, proto bool, ok bool) {
	accept := r.Header.Get("Accept")
	if accept == "" {
		return outputObject, false, true
	}
	for _, part := range strings.Split(accept, ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		switch mt {
		case "application/json", "application/*", "*/*", "application/yaml":
		case ProtobufType:
			proto = true
		default:
			continue
		}
		switch params["as"] {
		case "":
			return outputObject, proto, true
		case "Table":
			if !proto && params["g"] == "meta.k8s.io" && (params["v"] == "v1" || params["v"] == "v1beta1") {
				return outputTable, false, true
			}
		case "PartialObjectMetadata", "PartialObjectMetadataList":
			if params["g"] == "meta.k8s.io" && (params["v"] == "v1" || params["v"] == "v1beta1") {
				return outputMetadata, proto, true
			}
		}
		proto = false
	}
	return outputObject, false, false
}
