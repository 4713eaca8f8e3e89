package openapi

import (
	"bytes"
	"encoding/json"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Media types of the documents. The protobuf types are gnostic's messages; the
// "@" spelling is the one client-go sends, the "." spelling the one upstream
// answers with.
const (
	mediaJSON              = "application/json"
	mediaV2Protobuf        = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"
	mediaV2ProtobufLegacy  = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"
	mediaV3Protobuf        = "application/com.github.proto-openapi.spec.v3.v1.0+protobuf"
	mediaV3ProtobufLegacy  = "application/com.github.proto-openapi.spec.v3@v1.0+protobuf"
	pathV2                 = "/openapi/v2"
	pathV3                 = "/openapi/v3"
	immutableCacheControl  = "public, immutable"
	immutableCacheDuration = 365 * 24 * time.Hour
)

// offer is one representation a document can be served as.
type offer struct {
	mediaType   string // as matched against Accept
	contentType string // as answered in Content-Type
	protobuf    bool
}

var (
	v2Offers = []offer{
		{mediaType: mediaJSON, contentType: mediaJSON},
		{mediaType: mediaV2ProtobufLegacy, contentType: mediaV2Protobuf, protobuf: true},
		{mediaType: mediaV2Protobuf, contentType: mediaV2Protobuf, protobuf: true},
	}
	v3Offers = []offer{
		{mediaType: mediaJSON, contentType: mediaJSON},
		{mediaType: mediaV3ProtobufLegacy, contentType: mediaV3Protobuf, protobuf: true},
		{mediaType: mediaV3Protobuf, contentType: mediaV3Protobuf, protobuf: true},
	}
	jsonOffers = []offer{{mediaType: mediaJSON, contentType: mediaJSON}}
)

// ServeHTTP serves /openapi/v2, /openapi/v3 and /openapi/v3/<api/v1|apis/<group>/<version>>
// to GET and HEAD. It honours Accept (JSON; gnostic protobuf for v2 and the
// group version documents), ETag/If-None-Match, and for a group version
// document requested with ?hash= answers with immutable cache headers, or
// redirects (301) to the current hash when the given one is stale. Unknown
// paths get 404, other methods 405, unacceptable media types 406, each with a
// Kubernetes Status body.
func (d *Documents) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		writeStatus(w, http.StatusMethodNotAllowed, metav1.StatusReasonMethodNotAllowed,
			"the server does not allow this method on the requested resource")
		return
	}
	p := strings.TrimSuffix(r.URL.Path, "/")
	switch {
	case p == pathV2:
		d.serve(w, r, d.v2, v2Offers, false)
	case p == pathV3:
		d.serve(w, r, d.v3Discovery, jsonOffers, false)
	case strings.HasPrefix(p, pathV3+"/"):
		key := strings.TrimPrefix(p, pathV3+"/")
		doc, ok := d.v3[key]
		if !ok {
			notFound(w)
			return
		}
		if hash := r.URL.Query().Get("hash"); hash != "" && hash != doc.etag {
			http.Redirect(w, r, pathV3+"/"+key+"?hash="+doc.etag, http.StatusMovedPermanently)
			return
		}
		d.serve(w, r, doc, v3Offers, r.URL.Query().Get("hash") != "")
	default:
		notFound(w)
	}
}

// serve writes doc in the representation the request accepts.
func (d *Documents) serve(w http.ResponseWriter, r *http.Request, doc *document, offers []offer, immutable bool) {
	w.Header().Add("Vary", "Accept")
	o, ok := negotiate(r.Header.Get("Accept"), offers)
	if !ok {
		writeStatus(w, http.StatusNotAcceptable, metav1.StatusReasonNotAcceptable,
			"only the following media types are accepted: "+offerList(offers))
		return
	}
	body := doc.json
	if o.protobuf {
		var err error
		if body, err = doc.protobuf(); err != nil {
			writeStatus(w, http.StatusInternalServerError, metav1.StatusReasonInternalError, err.Error())
			return
		}
	}
	w.Header().Set("Content-Type", o.contentType)
	w.Header().Set("Etag", strconv.Quote(doc.etag))
	if immutable {
		w.Header().Set("Cache-Control", immutableCacheControl)
		w.Header().Set("Expires", time.Now().Add(immutableCacheDuration).UTC().Format(http.TimeFormat))
	}
	http.ServeContent(w, r, "", d.modified, bytes.NewReader(body))
}

func offerList(offers []offer) string {
	types := make([]string, len(offers))
	for i, o := range offers {
		types[i] = o.mediaType
	}
	return strings.Join(types, ", ")
}

// acceptClause is one media range of an Accept header.
type acceptClause struct {
	typ, subtype string
	q            float64
}

// negotiate picks the offer the Accept header prefers: clauses by descending
// quality (ties in header order), and for each clause the first matching offer.
// An empty header accepts anything.
func negotiate(accept string, offers []offer) (offer, bool) {
	if strings.TrimSpace(accept) == "" {
		accept = "*/*"
	}
	var clauses []acceptClause
	for _, part := range strings.Split(accept, ",") {
		fields := strings.Split(part, ";")
		typ, subtype, ok := strings.Cut(strings.ToLower(strings.TrimSpace(fields[0])), "/")
		if !ok {
			continue
		}
		c := acceptClause{typ: typ, subtype: subtype, q: 1}
		for _, f := range fields[1:] {
			k, v, _ := strings.Cut(strings.TrimSpace(f), "=")
			if strings.EqualFold(k, "q") {
				if q, err := strconv.ParseFloat(v, 64); err == nil {
					c.q = q
				}
			}
		}
		if c.q > 0 {
			clauses = append(clauses, c)
		}
	}
	sort.SliceStable(clauses, func(i, j int) bool { return clauses[i].q > clauses[j].q })
	for _, c := range clauses {
		for _, o := range offers {
			typ, subtype, _ := strings.Cut(o.mediaType, "/")
			if (c.typ == "*" || c.typ == typ) && (c.subtype == "*" || c.subtype == subtype) {
				return o, true
			}
		}
	}
	return offer{}, false
}

func notFound(w http.ResponseWriter) {
	writeStatus(w, http.StatusNotFound, metav1.StatusReasonNotFound, "the server could not find the requested resource")
}

// writeStatus answers with a Kubernetes Status error body.
func writeStatus(w http.ResponseWriter, code int, reason metav1.StatusReason, message string) {
	status := metav1.Status{
		TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"},
		Status:   metav1.StatusFailure,
		Message:  message,
		Reason:   reason,
		Details:  &metav1.StatusDetails{},
		Code:     int32(code),
	}
	body, _ := json.Marshal(status)
	w.Header().Set("Content-Type", mediaJSON)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	_, _ = w.Write(body)
}
