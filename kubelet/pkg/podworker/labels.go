package podworker

// Labels the kubelet puts on sandboxes and containers so that what the
// runtime reports can be tied back to pods — also after a kubelet restart,
// when these labels are all there is. The names are upstream's, so tools like
// crictl show the familiar columns.
const (
	LabelPodName       = "io.kubernetes.pod.name"
	LabelPodNamespace  = "io.kubernetes.pod.namespace"
	LabelPodUID        = "io.kubernetes.pod.uid"
	LabelContainerName = "io.kubernetes.container.name"
	// LabelNode names the node (kubelet) that made a sandbox: housekeeping
	// leaves other kubelets' sandboxes alone when several share one
	// runtime, as node tests do.
	LabelNode = "navarch.dev/node-name"

	// annotationHash holds the hash of the container spec a container was
	// made from: a changed spec (a static pod edit, an image update) restarts it.
	annotationHash = "navarch.dev/container-hash"
	// annotationInit marks init containers.
	annotationInit = "navarch.dev/init-container"
	// annotationTermination is the host file mounted at the container's
	// terminationMessagePath, read once the container exits.
	annotationTermination = "navarch.dev/termination-message-host-path"
)
