package openapi

import (
	"net/http"
	"reflect"
	"strings"

	authenticationv1 "k8s.io/api/authentication/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// The operations are kept in a form neutral to the OpenAPI version and rendered
// into v2 and v3 by documents.go.

// param is an operation or path parameter.
type param struct {
	name, in, typ, description string
	required                   bool
}

// response is one status code's answer: an object of typ, plain text, or
// (with neither) no body.
type response struct {
	code        int
	description string
	typ         reflect.Type
	text        bool
}

// operation is one HTTP method on one path.
type operation struct {
	method      string // lower-case, as the key in an OpenAPI path item
	action      string // x-kubernetes-action
	id          string // operationId
	description string
	tag         string
	gvk         schema.GroupVersionKind
	params      []param
	// body is the request body's type, nil for none.
	body         reflect.Type
	bodyRequired bool
	consumes     []string
	produces     []string
	responses    []response
}

// path is one URL template with its operations.
type path struct {
	gv     schema.GroupVersion
	path   string
	params []param
	ops    []operation
}

var (
	typeStatus        = reflect.TypeFor[metav1.Status]()
	typeDeleteOptions = reflect.TypeFor[metav1.DeleteOptions]()
	typeWatchEvent    = reflect.TypeFor[metav1.WatchEvent]()
	typePatch         = reflect.TypeFor[metav1.Patch]()
	typeScale         = reflect.TypeFor[autoscalingv1.Scale]()
)

var (
	consumesAny   = []string{"*/*"}
	consumesPatch = []string{
		"application/json-patch+json",
		"application/merge-patch+json",
		"application/strategic-merge-patch+json",
		"application/apply-patch+yaml",
	}
	producesObject = []string{"application/json", "application/yaml"}
	producesWatch  = []string{"application/json", "application/yaml", "application/json;stream=watch"}
	producesText   = []string{"text/plain", "application/json", "application/yaml"}
	producesAny    = []string{"*/*"}
)

func query(name, typ, description string) param {
	return param{name: name, in: "query", typ: typ, description: description}
}

var (
	paramName      = param{name: "name", in: "path", typ: "string", required: true, description: "name of the object"}
	paramNamespace = param{name: "namespace", in: "path", typ: "string", required: true, description: "object name and auth scope, such as for teams and projects"}
	paramPath      = param{name: "path", in: "path", typ: "string", required: true, description: "path to the resource"}
	paramPretty    = query("pretty", "string", "If 'true', then the output is pretty printed. Defaults to 'false' unless the user-agent indicates a browser or command-line HTTP tool (curl and wget).")

	paramAllowWatchBookmarks = query("allowWatchBookmarks", "boolean", "allowWatchBookmarks requests watch events with type \"BOOKMARK\". Servers that do not implement bookmarks may ignore this flag and bookmarks are sent at the server's discretion. Clients should not assume bookmarks are returned at any specific interval. If this is not a watch, this field is ignored.")
	paramContinue            = query("continue", "string", "The continue option should be set when retrieving more results from the server. Since this value is server defined, clients may only use the continue value from a previous query result with identical query parameters (except for the value of continue). If the continue value is too old the server responds with 410 ResourceExpired and the client must restart the list without it.")
	paramFieldSelector       = query("fieldSelector", "string", "A selector to restrict the list of returned objects by their fields. Defaults to everything.")
	paramLabelSelector       = query("labelSelector", "string", "A selector to restrict the list of returned objects by their labels. Defaults to everything.")
	paramLimit               = query("limit", "integer", "limit is a maximum number of responses to return for a list call. If more items exist, the server will set the `continue` field on the list metadata to a value that can be used with the same initial query to retrieve the next set of results.")
	paramResourceVersion     = query("resourceVersion", "string", "resourceVersion sets a constraint on what resource versions a request may be served from. See https://kubernetes.io/docs/reference/using-api/api-concepts/#resource-versions for details. Defaults to unset.")
	paramRVMatch             = query("resourceVersionMatch", "string", "resourceVersionMatch determines how resourceVersion is applied to list calls: Exact or NotOlderThan. It is highly recommended that resourceVersionMatch be set for list calls where resourceVersion is set. Defaults to unset.")
	paramSendInitialEvents   = query("sendInitialEvents", "boolean", "`sendInitialEvents=true` may be set together with `watch=true`. In that case, the watch stream begins with synthetic events to produce the current state of objects in the collection, followed by a bookmark event annotated \"k8s.io/initial-events-end\", then the stream continues with regular watch events.")
	paramTimeoutSeconds      = query("timeoutSeconds", "integer", "Timeout for the list/watch call. This limits the duration of the call, regardless of any activity or inactivity.")
	paramWatch               = query("watch", "boolean", "Watch for changes to the described resources and return them as a stream of add, update, and remove notifications. Specify resourceVersion.")

	paramDryRun          = query("dryRun", "string", "When present, indicates that modifications should not be persisted. An invalid or unrecognized dryRun directive will result in an error response and no further processing of the request. Valid values are: - All: all dry run stages will be processed")
	paramFieldManager    = query("fieldManager", "string", "fieldManager is a name associated with the actor or entity that is making these changes. The value must be less than or 128 characters long, and only contain printable characters, as defined by https://golang.org/pkg/unicode/#IsPrint.")
	paramFieldManagerApp = query("fieldManager", "string", "fieldManager is a name associated with the actor or entity that is making these changes. The value must be less than or 128 characters long, and only contain printable characters, as defined by https://golang.org/pkg/unicode/#IsPrint. This field is required for apply requests (application/apply-patch) but optional for non-apply patch types (JsonPatch, MergePatch, StrategicMergePatch).")
	paramFieldValidation = query("fieldValidation", "string", "fieldValidation instructs the server on how to handle objects in the request (POST/PUT/PATCH) containing unknown or duplicate fields. Valid values are: - Ignore: ignores unknown fields silently and drops them from the object, keeping only the last of duplicate fields. - Warn: sends a warning via the standard warning response header for each unknown field and each duplicate field; the request still succeeds. This is the default. - Strict: fails the request with a BadRequest error if any unknown or duplicate fields are present; the error lists all of them.")
	paramForce           = query("force", "boolean", "Force is going to \"force\" Apply requests. It means user will re-acquire conflicting fields owned by other people. Force flag must be unset for non-apply patch requests.")

	paramGracePeriod       = query("gracePeriodSeconds", "integer", "The duration in seconds before the object should be deleted. Value must be non-negative integer. The value zero indicates delete immediately. If this value is nil, the default grace period for the specified type will be used.")
	paramIgnoreStoreRead   = query("ignoreStoreReadErrorWithClusterBreakingPotential", "boolean", "if set to true, it will trigger an unsafe deletion of the resource in case the normal deletion flow fails with a corrupt object error. The default value is false, and the user must opt in to enable it.")
	paramOrphan            = query("orphanDependents", "boolean", "Deprecated: please use the PropagationPolicy, this field will be deprecated in 1.7. Should the dependent objects be orphaned. If true/false, the \"orphan\" finalizer will be added to/removed from the object's finalizers list. Either this field or PropagationPolicy may be set, but not both.")
	paramPropagationPolicy = query("propagationPolicy", "string", "Whether and how garbage collection will be performed. Either this field or OrphanDependents may be set, but not both. The default policy is decided by the existing finalizer set in the metadata.finalizers and the resource-specific default policy. Acceptable values are: 'Orphan' - orphan the dependents; 'Background' - allow the garbage collector to delete the dependents in the background; 'Foreground' - a cascading policy that deletes all dependents in the foreground.")
)

var (
	listParams             = []param{paramAllowWatchBookmarks, paramContinue, paramFieldSelector, paramLabelSelector, paramLimit, paramResourceVersion, paramRVMatch, paramSendInitialEvents, paramTimeoutSeconds, paramWatch}
	writeParams            = []param{paramDryRun, paramFieldManager, paramFieldValidation}
	patchParams            = []param{paramDryRun, paramFieldManagerApp, paramFieldValidation, paramForce}
	deleteParams           = []param{paramDryRun, paramGracePeriod, paramIgnoreStoreRead, paramOrphan, paramPropagationPolicy}
	deleteCollectionParams = []param{paramContinue, paramDryRun, paramFieldSelector, paramGracePeriod, paramIgnoreStoreRead, paramLabelSelector, paramLimit, paramOrphan, paramPropagationPolicy, paramResourceVersion, paramRVMatch, paramSendInitialEvents, paramTimeoutSeconds}
)

var (
	unauthorized = response{code: http.StatusUnauthorized, description: "Unauthorized"}
)

func ok(t reflect.Type) response { return response{code: http.StatusOK, description: "OK", typ: t} }
func okText() response           { return response{code: http.StatusOK, description: "OK", text: true} }
func created(t reflect.Type) response {
	return response{code: http.StatusCreated, description: "Created", typ: t}
}
func accepted(t reflect.Type) response {
	return response{code: http.StatusAccepted, description: "Accepted", typ: t}
}

// subresourceKind describes how a subresource is served.
type subresourceKind int

const (
	// subObject reads and writes (a part of) the parent object: status, approval.
	subObject subresourceKind = iota
	// subOther reads and writes another kind: scale.
	subOther
	// subCreate takes a POST of another kind: binding, eviction, token.
	subCreate
	// subPutOnly takes a PUT of the parent object: finalize.
	subPutOnly
	// subLog reads text: log.
	subLog
	// subConnect upgrades or streams: exec, attach, portforward, proxy.
	subConnect
)

type subresourceSpec struct {
	kind subresourceKind
	// typ and gvk are the body kind of subOther and subCreate.
	typ reflect.Type
	gvk schema.GroupVersionKind
	// options is the kind of a connect subresource's options ("PodExecOptions").
	options string
	params  []param
}

var connectStreams = []param{
	query("container", "string", "The container in which to execute the command. Defaults to only container if there is only one container in the pod."),
	query("stderr", "boolean", "Redirect the standard error stream of the pod for this call."),
	query("stdin", "boolean", "Redirect the standard input stream of the pod for this call. Defaults to false."),
	query("stdout", "boolean", "Redirect the standard output stream of the pod for this call."),
	query("tty", "boolean", "TTY if true indicates that a tty will be allocated for the exec call. Defaults to false."),
}

// subresources is how each known subresource is served; a name not listed is
// served like status.
var subresources = map[string]subresourceSpec{
	"status":              {kind: subObject},
	"approval":            {kind: subObject},
	"ephemeralcontainers": {kind: subObject},
	"resize":              {kind: subObject},
	"finalize":            {kind: subPutOnly},
	"scale": {kind: subOther, typ: typeScale,
		gvk: autoscalingv1.SchemeGroupVersion.WithKind("Scale")},
	"binding": {kind: subCreate, typ: reflect.TypeFor[corev1.Binding](),
		gvk: corev1.SchemeGroupVersion.WithKind("Binding")},
	"eviction": {kind: subCreate, typ: reflect.TypeFor[policyv1.Eviction](),
		gvk: policyv1.SchemeGroupVersion.WithKind("Eviction")},
	"token": {kind: subCreate, typ: reflect.TypeFor[authenticationv1.TokenRequest](),
		gvk: authenticationv1.SchemeGroupVersion.WithKind("TokenRequest")},
	"log": {kind: subLog, params: []param{
		query("container", "string", "The container for which to stream logs. Defaults to only container if there is one container in the pod."),
		query("follow", "boolean", "Follow the log stream of the pod. Defaults to false."),
		query("insecureSkipTLSVerifyBackend", "boolean", "insecureSkipTLSVerifyBackend indicates that the apiserver should not confirm the validity of the serving certificate of the backend it is connecting to."),
		query("limitBytes", "integer", "If set, the number of bytes to read from the server before terminating the log output. This may not display a complete final line of logging, and may return slightly more or slightly less than the specified limit."),
		query("previous", "boolean", "Return previous terminated container logs. Defaults to false."),
		query("sinceSeconds", "integer", "A relative time in seconds before the current time from which to show logs. If this value precedes the time a pod was started, only logs since the pod start will be returned. If this value is in the future, no logs will be returned. Only one of sinceSeconds or sinceTime may be specified."),
		query("stream", "string", "Specify which container log stream to return to the client. Acceptable values are \"All\", \"Stdout\" and \"Stderr\". If not specified, \"All\" is used."),
		query("tailLines", "integer", "If set, the number of lines from the end of the logs to show. If not specified, logs are shown from the creation of the container or sinceSeconds or sinceTime."),
		query("timestamps", "boolean", "If true, add an RFC3339 or RFC3339Nano timestamp at the beginning of every line of log output. Defaults to false."),
	}},
	"exec": {kind: subConnect, options: "PodExecOptions", params: append([]param{
		query("command", "string", "Command is the remote command to execute. argv array. Not executed within a shell."),
	}, connectStreams...)},
	"attach": {kind: subConnect, options: "PodAttachOptions", params: connectStreams},
	"portforward": {kind: subConnect, options: "PodPortForwardOptions", params: []param{
		query("ports", "integer", "List of ports to forward. Required when using WebSockets."),
	}},
	"proxy": {kind: subConnect, params: []param{
		query("path", "string", "Path is the URL path to use for the current proxy request."),
	}},
}

// groupVersionPrefix is the URL prefix of a group version: /api/v1 or /apis/<group>/<version>.
func groupVersionPrefix(gv schema.GroupVersion) string {
	if gv.Group == "" {
		return "/api/" + gv.Version
	}
	return "/apis/" + gv.Group + "/" + gv.Version
}

// groupVersionKey names a group version in the v3 discovery document: api/v1, apis/apps/v1.
func groupVersionKey(gv schema.GroupVersion) string {
	return strings.TrimPrefix(groupVersionPrefix(gv), "/")
}

// groupWords splits a group into its words: "rbac.authorization.k8s.io" is
// [rbac authorization], "" is [core].
func groupWords(group string) []string {
	if group == "" {
		return []string{"core"}
	}
	group = strings.TrimSuffix(group, ".k8s.io")
	return strings.FieldsFunc(group, func(r rune) bool { return r == '.' || r == '-' })
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// operationIDPrefix is the group version part of operation ids: CoreV1, RbacAuthorizationV1.
func operationIDPrefix(gv schema.GroupVersion) string {
	var b strings.Builder
	for _, w := range groupWords(gv.Group) {
		b.WriteString(upperFirst(w))
	}
	b.WriteString(upperFirst(gv.Version))
	return b.String()
}

// operationTag groups a group version's operations: core_v1, rbacAuthorization_v1.
func operationTag(gv schema.GroupVersion) string {
	words := groupWords(gv.Group)
	for i := 1; i < len(words); i++ {
		words[i] = upperFirst(words[i])
	}
	return strings.Join(words, "") + "_" + gv.Version
}

func elemType(obj any) reflect.Type {
	t := reflect.TypeOf(obj)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t
}

// resourcePaths lists the paths and operations of one resource as upstream
// publishes them.
func resourcePaths(r Resource) []path {
	gv := r.GroupVersion
	gvk := gv.WithKind(r.Kind)
	objType := elemType(r.Object)
	listType := elemType(r.List)
	idp := operationIDPrefix(gv)
	tag := operationTag(gv)
	prefix := groupVersionPrefix(gv)

	scope := ""    // "Namespaced" in operation ids of namespaced paths
	base := prefix // the collection's parent
	nsParams := []param{}
	if r.Namespaced {
		scope = "Namespaced"
		base = prefix + "/namespaces/{namespace}"
		nsParams = []param{paramNamespace}
	}
	collection := base + "/" + r.Plural
	item := collection + "/{name}"
	itemParams := append([]param{paramName}, nsParams...)

	op := func(method, action, id, description string) operation {
		return operation{method: method, action: action, id: id, description: description, tag: tag, gvk: gvk}
	}

	list := op("get", "list", "list"+idp+scope+r.Kind, "list or watch objects of kind "+r.Kind)
	list.params = listParams
	list.produces = producesWatch
	list.responses = []response{ok(listType), unauthorized}

	create := op("post", "post", "create"+idp+scope+r.Kind, "create a "+r.Kind)
	create.params = writeParams
	create.body, create.bodyRequired = objType, true
	create.consumes, create.produces = consumesAny, producesObject
	create.responses = []response{ok(objType), created(objType), accepted(objType), unauthorized}

	deleteCollection := op("delete", "deletecollection", "delete"+idp+"Collection"+scope+r.Kind, "delete collection of "+r.Kind)
	deleteCollection.params = deleteCollectionParams
	deleteCollection.body = typeDeleteOptions
	deleteCollection.consumes, deleteCollection.produces = consumesAny, producesObject
	deleteCollection.responses = []response{ok(typeStatus), unauthorized}

	read := op("get", "get", "read"+idp+scope+r.Kind, "read the specified "+r.Kind)
	read.produces = producesObject
	read.responses = []response{ok(objType), unauthorized}

	replace := op("put", "put", "replace"+idp+scope+r.Kind, "replace the specified "+r.Kind)
	replace.params = writeParams
	replace.body, replace.bodyRequired = objType, true
	replace.consumes, replace.produces = consumesAny, producesObject
	replace.responses = []response{ok(objType), created(objType), unauthorized}

	patch := op("patch", "patch", "patch"+idp+scope+r.Kind, "partially update the specified "+r.Kind)
	patch.params = patchParams
	patch.body, patch.bodyRequired = typePatch, true
	patch.consumes, patch.produces = consumesPatch, producesObject
	patch.responses = []response{ok(objType), created(objType), unauthorized}

	del := op("delete", "delete", "delete"+idp+scope+r.Kind, "delete a "+r.Kind)
	del.params = deleteParams
	del.body = typeDeleteOptions
	del.consumes, del.produces = consumesAny, producesObject
	del.responses = []response{ok(typeStatus), accepted(typeStatus), unauthorized}

	watchList := op("get", "watchlist", "watch"+idp+scope+r.Kind+"List", "watch individual changes to a list of "+r.Kind+". deprecated: use the 'watch' parameter with a list operation instead.")
	watchList.params = listParams
	watchList.produces = producesWatch
	watchList.responses = []response{ok(typeWatchEvent), unauthorized}

	watchItem := op("get", "watch", "watch"+idp+scope+r.Kind, "watch changes to an object of kind "+r.Kind+". deprecated: use the 'watch' parameter with a list operation instead, filtered to a single item with the 'fieldSelector' parameter.")
	watchItem.params = listParams
	watchItem.produces = producesWatch
	watchItem.responses = []response{ok(typeWatchEvent), unauthorized}

	paths := []path{
		{gv: gv, path: collection, params: append(append([]param{}, nsParams...), paramPretty), ops: []operation{list, create, deleteCollection}},
		{gv: gv, path: item, params: append(append([]param{}, itemParams...), paramPretty), ops: []operation{read, replace, patch, del}},
		{gv: gv, path: prefix + "/watch" + strings.TrimPrefix(collection, prefix), params: append(append([]param{}, nsParams...), paramPretty), ops: []operation{watchList}},
		{gv: gv, path: prefix + "/watch" + strings.TrimPrefix(item, prefix), params: append(append([]param{}, itemParams...), paramPretty), ops: []operation{watchItem}},
	}
	if r.Namespaced {
		all := op("get", "list", "list"+idp+r.Kind+"ForAllNamespaces", "list or watch objects of kind "+r.Kind)
		all.params = listParams
		all.produces = producesWatch
		all.responses = []response{ok(listType), unauthorized}
		watchAll := op("get", "watchlist", "watch"+idp+r.Kind+"ListForAllNamespaces", watchList.description)
		watchAll.params = listParams
		watchAll.produces = producesWatch
		watchAll.responses = []response{ok(typeWatchEvent), unauthorized}
		paths = append(paths,
			path{gv: gv, path: prefix + "/" + r.Plural, params: []param{paramPretty}, ops: []operation{all}},
			path{gv: gv, path: prefix + "/watch/" + r.Plural, params: []param{paramPretty}, ops: []operation{watchAll}},
		)
	}

	for _, sub := range r.Subresources {
		paths = append(paths, subresourcePaths(r, sub, item, itemParams, op)...)
	}
	return paths
}

// subresourcePaths lists the paths of one subresource of r below item.
func subresourcePaths(r Resource, sub, item string, itemParams []param, op func(method, action, id, description string) operation) []path {
	sr, known := subresources[sub]
	if !known {
		sr = subresourceSpec{kind: subObject}
	}
	gv := r.GroupVersion
	idp := operationIDPrefix(gv)
	scope := ""
	if r.Namespaced {
		scope = "Namespaced"
	}
	suffix := r.Kind + upperFirst(sub)
	objType := elemType(r.Object)
	subPath := item + "/" + sub
	withPretty := append(append([]param{}, itemParams...), paramPretty)

	switch sr.kind {
	case subObject, subOther, subPutOnly:
		bodyType := objType
		if sr.kind == subOther {
			bodyType = sr.typ
		}
		read := op("get", "get", "read"+idp+scope+suffix, "read "+sub+" of the specified "+r.Kind)
		read.produces = producesObject
		read.responses = []response{ok(bodyType), unauthorized}
		replace := op("put", "put", "replace"+idp+scope+suffix, "replace "+sub+" of the specified "+r.Kind)
		replace.params = writeParams
		replace.body, replace.bodyRequired = bodyType, true
		replace.consumes, replace.produces = consumesAny, producesObject
		replace.responses = []response{ok(bodyType), created(bodyType), unauthorized}
		patch := op("patch", "patch", "patch"+idp+scope+suffix, "partially update "+sub+" of the specified "+r.Kind)
		patch.params = patchParams
		patch.body, patch.bodyRequired = typePatch, true
		patch.consumes, patch.produces = consumesPatch, producesObject
		patch.responses = []response{ok(bodyType), created(bodyType), unauthorized}
		if sr.kind == subOther {
			read.gvk, replace.gvk, patch.gvk = sr.gvk, sr.gvk, sr.gvk
		}
		ops := []operation{read, replace, patch}
		if sr.kind == subPutOnly {
			ops = []operation{replace}
		}
		return []path{{gv: gv, path: subPath, params: withPretty, ops: ops}}

	case subCreate:
		create := op("post", "post", "create"+idp+scope+suffix, "create "+sub+" of a "+r.Kind)
		create.gvk = sr.gvk
		create.params = writeParams
		create.body, create.bodyRequired = sr.typ, true
		create.consumes, create.produces = consumesAny, producesObject
		create.responses = []response{ok(sr.typ), created(sr.typ), accepted(sr.typ), unauthorized}
		return []path{{gv: gv, path: subPath, params: withPretty, ops: []operation{create}}}

	case subLog:
		read := op("get", "get", "read"+idp+scope+suffix, "read "+sub+" of the specified "+r.Kind)
		read.params = sr.params
		read.produces = producesText
		read.responses = []response{okText(), unauthorized}
		return []path{{gv: gv, path: subPath, params: withPretty, ops: []operation{read}}}

	case subConnect:
		options := sr.options
		if options == "" {
			options = r.Kind + upperFirst(sub) + "Options"
		}
		methods := []string{"get", "post"}
		if sub == "proxy" {
			methods = []string{"get", "put", "post", "patch", "delete", "head", "options"}
		}
		connectOps := func(withPath bool) []operation {
			var ops []operation
			for _, m := range methods {
				id := "connect" + idp + upperFirst(m) + scope + suffix
				if withPath {
					id += "WithPath"
				}
				o := op(m, "connect", id, "connect "+strings.ToUpper(m)+" requests to "+sub+" of "+r.Kind)
				o.gvk = corev1.SchemeGroupVersion.WithKind(options)
				if !withPath {
					o.params = sr.params
				}
				o.consumes, o.produces = producesAny, producesAny
				o.responses = []response{okText(), unauthorized}
				ops = append(ops, o)
			}
			return ops
		}
		paths := []path{{gv: gv, path: subPath, params: itemParams, ops: connectOps(false)}}
		if sub == "proxy" {
			paths = append(paths, path{gv: gv, path: subPath + "/{path}", params: append(append([]param{}, itemParams...), paramPath), ops: connectOps(true)})
		}
		return paths
	}
	return nil
}
