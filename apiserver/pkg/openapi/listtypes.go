package openapi

// The k8s.io/api types declare list and map topology in comment markers
// (+listType, +listMapKey, +mapType) that reflection cannot see. These tables
// carry the markers of the fields clients and server-side apply care about most,
// keyed by "<definition name>.<json field name>".

type listType struct {
	listType string
	keys     []string
}

func listMap(keys ...string) listType { return listType{listType: "map", keys: keys} }

var (
	listSet    = listType{listType: "set"}
	listAtomic = listType{listType: "atomic"}
)

const (
	coreV1 = "io.k8s.api.core.v1."
	appsV1 = "io.k8s.api.apps.v1."
	metaV1 = "io.k8s.apimachinery.pkg.apis.meta.v1."
)

var listTypes = map[string]listType{
	metaV1 + "ObjectMeta.ownerReferences":      listMap("uid"),
	metaV1 + "ObjectMeta.finalizers":           listSet,
	metaV1 + "ObjectMeta.managedFields":        listAtomic,
	metaV1 + "LabelSelector.matchExpressions":  listAtomic,
	metaV1 + "LabelSelectorRequirement.values": listAtomic,

	coreV1 + "PodSpec.containers":                     listMap("name"),
	coreV1 + "PodSpec.initContainers":                 listMap("name"),
	coreV1 + "PodSpec.ephemeralContainers":            listMap("name"),
	coreV1 + "PodSpec.volumes":                        listMap("name"),
	coreV1 + "PodSpec.imagePullSecrets":               listMap("name"),
	coreV1 + "PodSpec.hostAliases":                    listMap("ip"),
	coreV1 + "PodSpec.tolerations":                    listAtomic,
	coreV1 + "PodSpec.topologySpreadConstraints":      listMap("topologyKey", "whenUnsatisfiable"),
	coreV1 + "PodSpec.readinessGates":                 listAtomic,
	coreV1 + "PodSpec.resourceClaims":                 listMap("name"),
	coreV1 + "PodSpec.schedulingGates":                listMap("name"),
	coreV1 + "Container.ports":                        listMap("containerPort", "protocol"),
	coreV1 + "Container.env":                          listMap("name"),
	coreV1 + "Container.envFrom":                      listAtomic,
	coreV1 + "Container.volumeMounts":                 listMap("mountPath"),
	coreV1 + "Container.volumeDevices":                listMap("devicePath"),
	coreV1 + "Container.command":                      listAtomic,
	coreV1 + "Container.args":                         listAtomic,
	coreV1 + "EphemeralContainer.ports":               listMap("containerPort", "protocol"),
	coreV1 + "EphemeralContainer.env":                 listMap("name"),
	coreV1 + "EphemeralContainer.volumeMounts":        listMap("mountPath"),
	coreV1 + "PodStatus.conditions":                   listMap("type"),
	coreV1 + "PodStatus.podIPs":                       listMap("ip"),
	coreV1 + "PodStatus.hostIPs":                      listMap("ip"),
	coreV1 + "PodStatus.containerStatuses":            listAtomic,
	coreV1 + "PodStatus.initContainerStatuses":        listAtomic,
	coreV1 + "ServiceSpec.ports":                      listMap("port", "protocol"),
	coreV1 + "ServiceSpec.clusterIPs":                 listAtomic,
	coreV1 + "ServiceSpec.externalIPs":                listAtomic,
	coreV1 + "ServiceSpec.ipFamilies":                 listAtomic,
	coreV1 + "ServiceStatus.conditions":               listMap("type"),
	coreV1 + "NodeStatus.conditions":                  listMap("type"),
	coreV1 + "NodeStatus.addresses":                   listMap("type"),
	coreV1 + "NodeSpec.podCIDRs":                      listSet,
	coreV1 + "NodeSpec.taints":                        listAtomic,
	coreV1 + "NamespaceStatus.conditions":             listMap("type"),
	coreV1 + "PersistentVolumeClaimStatus.conditions": listMap("type"),
	coreV1 + "ReplicationControllerStatus.conditions": listMap("type"),

	appsV1 + "DeploymentStatus.conditions":  listMap("type"),
	appsV1 + "ReplicaSetStatus.conditions":  listMap("type"),
	appsV1 + "StatefulSetStatus.conditions": listMap("type"),
	appsV1 + "DaemonSetStatus.conditions":   listMap("type"),

	"io.k8s.api.batch.v1.JobStatus.conditions": listAtomic,
}

// mapTypes marks structs that server-side apply treats as one value.
var mapTypes = map[string]string{
	metaV1 + "LabelSelector":             "atomic",
	coreV1 + "LocalObjectReference":      "atomic",
	coreV1 + "NodeSelector":              "atomic",
	coreV1 + "ObjectReference":           "atomic",
	coreV1 + "ObjectFieldSelector":       "atomic",
	coreV1 + "ResourceFieldSelector":     "atomic",
	coreV1 + "ConfigMapKeySelector":      "atomic",
	coreV1 + "SecretKeySelector":         "atomic",
	coreV1 + "TypedLocalObjectReference": "atomic",
}

// optionalFields are fields whose json tag lacks omitempty but which upstream
// marks +optional, so they must not be listed as required.
var optionalFields = map[string]bool{
	coreV1 + "ContainerImage.names":                                   true,
	coreV1 + "GRPCAction.service":                                     true,
	coreV1 + "ProjectedVolumeSource.sources":                          true,
	coreV1 + "TypedLocalObjectReference.apiGroup":                     true,
	coreV1 + "TypedObjectReference.apiGroup":                          true,
	"io.k8s.api.authentication.v1.TokenRequestSpec.boundObjectRef":    true,
	"io.k8s.api.authentication.v1.TokenRequestSpec.expirationSeconds": true,
	"io.k8s.api.rbac.v1.Role.rules":                                   true,
	"io.k8s.api.rbac.v1.ClusterRole.rules":                            true,
}
