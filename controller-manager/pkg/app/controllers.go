package app

// Controllers is the controller table: every loop the controller-manager can
// run, by the name --controllers uses (upstream's names). Membership is
// decided here and nowhere else.
var Controllers = map[string]InitFunc{
	"replicaset":               startReplicaSet,
	"replicationcontroller":    startReplicationController,
	"deployment":               startDeployment,
	"garbagecollector":         startGarbageCollector,
	"endpoint":                 startEndpoints,
	"endpointslice":            startEndpointSlice,
	"namespace":                startNamespace,
	"serviceaccount":           startServiceAccount,
	"job":                      startJob,
	"cronjob":                  startCronJob,
	"daemonset":                startDaemonSet,
	"statefulset":              startStatefulSet,
	"nodelifecycle":            startNodeLifecycle,
	"nodeipam":                 startNodeIPAM,
	"podgc":                    startPodGC,
	"ttl-after-finished":       startTTLAfterFinished,
	"resourcequota":            startResourceQuota,
	"persistentvolume-binder":  startPersistentVolumeBinder,
	"horizontalpodautoscaling": startHPA,
	"root-ca-cert-publisher":   startRootCACertPublisher,
}

// DisabledByDefault names controllers that "*" does not enable.
var DisabledByDefault = map[string]bool{}
