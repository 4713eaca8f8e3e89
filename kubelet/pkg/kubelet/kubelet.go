// Package kubelet wires the node agent together: the CRI runtime, the Node
// reporter, the pod informer (only this node's pods), the pod worker and the
// health, read-only and authenticated API HTTP servers (pkg/server).
package kubelet

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"sync/atomic"
	"time"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	corev1informers "k8s.io/client-go/informers/core/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	listersv1 "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"

	"navarch.dev/kubelet/pkg/admission"
	"navarch.dev/kubelet/pkg/eviction"
	"navarch.dev/kubelet/pkg/imagegc"
	"navarch.dev/kubelet/pkg/nodestatus"
	"navarch.dev/kubelet/pkg/podnetwork"
	"navarch.dev/kubelet/pkg/podworker"
	"navarch.dev/kubelet/pkg/prober"
	"navarch.dev/kubelet/pkg/runtime"
	"navarch.dev/kubelet/pkg/server"
	"navarch.dev/kubelet/pkg/staticpods"
	"navarch.dev/kubelet/pkg/stats"
	"navarch.dev/kubelet/pkg/volume"
)

// Config is the kubelet's typed configuration, built from flags.
type Config struct {
	NodeName        string
	NodeIP          string
	Hostname        string
	RuntimeEndpoint string
	ClusterDNS      []string
	ClusterDomain   string
	ResolvConf      string
	MaxPods         int
	NodeLabels      map[string]string
	Taints          []v1.Taint
	Reserved        v1.ResourceList
	PodLogRoot      string
	RootDir         string
	Port            int
	HealthzAddr     string // "" disables
	ReadOnlyAddr    string // "" disables
	// APIAddr is where the authenticated HTTPS API listens ("" disables);
	// Port is what the Node reports for it.
	APIAddr       string
	TLSCertFile   string // with TLSKeyFile; empty: a self-signed certificate
	TLSKeyFile    string
	ClientCAFile  string // CAs of the client certificates the API accepts
	AnonymousAuth bool   // let requests without credentials in
	// AuthenticationTokenWebhook authenticates bearer tokens on the API
	// port with TokenReview (answers cached for TokenWebhookCacheTTL);
	// AuthorizationMode is AlwaysAllow or Webhook (SubjectAccessReview,
	// answers cached for AuthorizedTTL and UnauthorizedTTL). Zero TTLs
	// mean upstream's defaults.
	AuthenticationTokenWebhook bool
	TokenWebhookCacheTTL       time.Duration
	AuthorizationMode          string
	AuthorizedTTL              time.Duration
	UnauthorizedTTL            time.Duration
	// Eviction holds the eviction thresholds (none: no eviction), checked
	// every EvictionInterval (default 10s).
	Eviction         eviction.Config
	EvictionInterval time.Duration
	// ImageGC, when set, runs the image garbage collector every
	// ImageGCPeriod (default 5m).
	ImageGC        *imagegc.Policy
	ImageGCPeriod  time.Duration
	StatusInterval time.Duration
	Workers        int
	Resync         time.Duration // runtime relist period (default 1s)
	// SyncFrequency is how often a pod is synced without an event
	// (default 10s; upstream's --sync-frequency).
	SyncFrequency    time.Duration
	RemovePodCgroups bool
	// PodsDir holds per-pod volumes and files (default RootDir/pods).
	PodsDir string
	// VolumeRefresh is how often ConfigMap, Secret, downward API and
	// projected volumes of running pods are refreshed (default 10s).
	VolumeRefresh time.Duration
	// PodManifestPath is a directory of static pod manifests ("" for
	// none), read again every FileCheckFrequency (default 20s).
	PodManifestPath    string
	FileCheckFrequency time.Duration
	// PodNetwork, when set, has the kubelet write the CNI config for the
	// node's pod CIDR and route the other nodes' (--network-plugin=kubenet).
	PodNetwork *podnetwork.Config
}

// Run runs the kubelet until ctx ends. With a nil client it runs
// standalone: static pods only, no Node, no API.
//
// Static pods start at once, whether or not the apiserver answers: on a
// control-plane node the apiserver may itself be one of them. The parts
// that need the API — registering the Node, then its status and Lease, the
// API's pods and the mirror pods — start in the background and wait, with
// backoff, until the apiserver answers, as upstream's kubelet does.
func Run(ctx context.Context, cfg Config, client kubernetes.Interface) error {
	rt, err := runtime.Dial(cfg.RuntimeEndpoint, 2*time.Minute)
	if err != nil {
		return err
	}
	defer rt.Close()
	v, err := rt.Version(ctx)
	if err != nil {
		return fmt.Errorf("container runtime at %s: %w", cfg.RuntimeEndpoint, err)
	}
	slog.Info("container runtime", "name", v.RuntimeName, "version", v.RuntimeVersion)
	recorder, stopEvents := newRecorder(cfg.NodeName, client)
	defer stopEvents()
	recorder.Eventf(nodestatus.NodeRef(cfg.NodeName), v1.EventTypeNormal, "Starting", "Starting kubelet.")
	var podNet *podnetwork.Manager
	if cfg.PodNetwork != nil {
		if podNet, err = podnetwork.NewForHost(*cfg.PodNetwork, client); err != nil {
			return err
		}
	}
	rtCheck := func(ctx context.Context) (string, error) {
		v, err := rt.Version(ctx)
		if err != nil {
			return "", err
		}
		return v.RuntimeName + "://" + v.RuntimeVersion, nil
	}

	var (
		factory, svcFactory informers.SharedInformerFactory
		podInformer         corev1informers.PodInformer
		apiSrc              *apiSource
		apiWrite            podworker.StatusWriter
		services            = func() ([]*v1.Service, error) { return nil, nil }
	)
	if client != nil {
		factory = informers.NewSharedInformerFactoryWithOptions(client, 0,
			informers.WithTweakListOptions(func(o *metav1.ListOptions) {
				o.FieldSelector = fields.OneTermEqualSelector("spec.nodeName", cfg.NodeName).String()
			}))
		podInformer = factory.Core().V1().Pods()
		svcFactory = informers.NewSharedInformerFactory(client, 0)
		svcLister := svcFactory.Core().V1().Services().Lister()
		services = func() ([]*v1.Service, error) { return svcLister.List(labels.Everything()) }
		apiSrc = &apiSource{lister: podInformer.Lister()}
		apiWrite = &apiWriter{client: client}
	}
	static := staticpods.New(cfg.PodManifestPath, cfg.NodeName)
	var staticKeys []string
	if cfg.PodManifestPath != "" {
		// Loaded before the worker starts, so that its first housekeeping
		// does not take running static pods for orphans.
		if staticKeys, err = static.Load(); err != nil {
			return err
		}
	}
	merged := &staticpods.Merged{Static: static}
	if apiSrc != nil {
		merged.API = apiSrc
	}
	var src podworker.Source = merged
	var worker *podworker.Worker
	// podsWithStatus are the node's pods with the statuses the worker
	// last computed (the API's may lag behind).
	podsWithStatus := func() []*v1.Pod {
		pods, _ := src.List()
		for _, p := range pods {
			if st, ok := worker.Status(p.UID); ok {
				p.Status = st
			}
		}
		return pods
	}
	summaries := stats.NewProvider(cfg.NodeName, cfg.RootDir, cfg.PodLogRoot, rt.RuntimeService(), rt.ImageService(), podsWithStatus)
	var gc *imagegc.Manager
	if cfg.ImageGC != nil {
		policy := *cfg.ImageGC
		if policy.SandboxImage == "" {
			if info, err := rt.StatusInfo(ctx); err == nil {
				policy.SandboxImage = imagegc.SandboxImageFromRuntime(info)
			}
			if policy.SandboxImage == "" {
				slog.Warn("image garbage collection: the runtime does not name its sandbox image; pinned images are still kept")
			}
		}
		if gc, err = imagegc.New(rt, policy, nil); err != nil {
			return err
		}
	}
	var reclaim eviction.ImageReclaimer
	if gc != nil {
		reclaim = gc
	}
	errc := make(chan error, 5)
	evictions := eviction.New(cfg.Eviction, summaries, &workerPods{w: &worker}, reclaim)

	reporter := nodestatus.New(nodestatus.Config{
		NodeName: cfg.NodeName, NodeIP: cfg.NodeIP, Hostname: cfg.Hostname, Labels: cfg.NodeLabels,
		Taints: cfg.Taints, MaxPods: cfg.MaxPods, Reserved: cfg.Reserved, RootDir: cfg.RootDir, Port: int32(cfg.Port),
		Pressure: evictions, Recorder: recorder,
	}, client, rtCheck)
	capacity := nodestatus.Capacity(cfg.MaxPods, cfg.RootDir)
	allocatable := nodestatus.Allocatable(capacity, cfg.Reserved)
	if cfg.PodsDir == "" {
		cfg.PodsDir = filepath.Join(cfg.RootDir, "pods")
	}
	volumes := volume.NewManager(cfg.PodsDir, cfg.VolumeRefresh, volume.Registry(client, allocatable))
	probes := prober.New(ctx, rt, recorder, func(k string) { worker.Enqueue(k) })
	worker = podworker.New(podworker.Config{
		NodeName: cfg.NodeName, NodeIP: cfg.NodeIP, ClusterDNS: cfg.ClusterDNS, ClusterDomain: cfg.ClusterDomain,
		ResolvConf: cfg.ResolvConf, PodLogRoot: cfg.PodLogRoot, MachineMemory: capacity.Memory().Value(),
		Allocatable: allocatable, Workers: cfg.Workers, Resync: cfg.Resync, SyncFrequency: cfg.SyncFrequency,
		RemoveCgroups: cfg.RemovePodCgroups, PodsDir: cfg.PodsDir,
	}, podworker.Options{
		Volumes:  volumes,
		Prober:   probes,
		Runtime:  rt,
		Client:   client,
		Services: services,
		Source:   src,
		Writer:   &staticpods.Writer{Static: static, Client: client, API: apiWrite},
		Admitter: admission.New(allocatable, evictions),
		Recorder: recorder,
	})
	// The worker's Run cannot list the API's pods before the apiserver
	// answers, so the static pods are queued here.
	for _, k := range staticKeys {
		worker.Enqueue(k)
	}
	registered := make(chan struct{})
	if client != nil {
		// The informers retry their list and watch with backoff until the
		// apiserver answers.
		podInformer.Informer() // registered with the factory before Start
		factory.Start(ctx.Done())
		svcFactory.Start(ctx.Done())
		go func() {
			if _, err := reporter.RegisterWithRetry(ctx); err != nil {
				return // ctx ended
			}
			slog.Info("node registered", "node", cfg.NodeName)
			close(registered)
			reporter.Run(ctx, cfg.StatusInterval)
		}()
		go func() {
			if err := runAPIPods(ctx, []informers.SharedInformerFactory{factory, svcFactory}, podInformer, apiSrc, worker); err != nil && ctx.Err() == nil {
				errc <- err
			}
		}()
	}
	if cfg.PodManifestPath != "" {
		go runStaticPods(ctx, cfg, static, client, registered, worker)
	}

	serve := func(addr string, h http.Handler, tlsCfg *tls.Config) {
		if addr == "" {
			return
		}
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			errc <- fmt.Errorf("listen %s: %w", addr, err)
			return
		}
		go func() {
			var err error
			if tlsCfg != nil {
				err = server.ServeTLS(ctx, ln, h, tlsCfg)
			} else {
				err = server.Serve(ctx, ln, h)
			}
			if err != nil {
				errc <- fmt.Errorf("serve %s: %w", addr, err)
			}
		}()
	}
	srv, err := server.New(server.Config{
		NodeName: cfg.NodeName, NodeIP: cfg.NodeIP, Hostname: cfg.Hostname,
		TLSCertFile: cfg.TLSCertFile, TLSKeyFile: cfg.TLSKeyFile, ClientCAFile: cfg.ClientCAFile,
		AnonymousAuth: cfg.AnonymousAuth, AuthenticationTokenWebhook: cfg.AuthenticationTokenWebhook,
		TokenWebhookCacheTTL: cfg.TokenWebhookCacheTTL, AuthorizationMode: cfg.AuthorizationMode,
		AuthorizedTTL: cfg.AuthorizedTTL, UnauthorizedTTL: cfg.UnauthorizedTTL,
	}, server.Deps{Runtime: rt.RuntimeService(), Pods: podsWithStatus, Client: client, Stats: summaries})
	if err != nil {
		return err
	}
	serve(cfg.HealthzAddr, srv.HealthHandler(), nil)
	serve(cfg.ReadOnlyAddr, srv.ReadOnlyHandler(), nil)
	serve(cfg.APIAddr, srv.Handler(), srv.TLSConfig())

	if podNet != nil {
		go podNet.Run(ctx)
	}
	if gc != nil {
		every := cfg.ImageGCPeriod
		if every <= 0 {
			every = 5 * time.Minute
		}
		go gc.Run(ctx, every)
	}
	if len(cfg.Eviction.Thresholds) > 0 {
		every := cfg.EvictionInterval
		if every <= 0 {
			every = 10 * time.Second
		}
		go evictions.Run(ctx, every)
	}
	go worker.Run(ctx)
	select {
	case <-ctx.Done():
		return nil
	case err := <-errc:
		return err
	}
}

// newRecorder returns the kubelet's event recorder — source component
// "kubelet", host the node name, as upstream — and a func that stops it.
// With a client, events are written through the apiserver by client-go's
// broadcaster, which aggregates repeated events, queues them without
// blocking the caller, retries while the apiserver does not answer (static
// pods start before it may) and drops them when its queue is full. Without
// a client (standalone) they are only logged.
func newRecorder(nodeName string, client kubernetes.Interface) (record.EventRecorder, func()) {
	b := record.NewBroadcaster()
	b.StartEventWatcher(func(e *v1.Event) {
		slog.Debug("event", "object", e.InvolvedObject.Kind+"/"+e.InvolvedObject.Namespace+"/"+e.InvolvedObject.Name,
			"fieldPath", e.InvolvedObject.FieldPath, "type", e.Type, "reason", e.Reason, "message", e.Message)
	})
	if client != nil {
		b.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: client.CoreV1().Events("")})
	}
	return b.NewRecorder(scheme.Scheme, v1.EventSource{Component: "kubelet", Host: nodeName}), b.Shutdown
}

// runAPIPods waits until the informers have the API's pods of this node
// and the Services (for the pods' service environment variables), admits
// the pods that run (after a restart) and then hands every API pod to the
// worker; from then on the informer's events do. It returns an error only
// if the event handler cannot be added.
func runAPIPods(ctx context.Context, factories []informers.SharedInformerFactory, podInformer corev1informers.PodInformer, apiSrc *apiSource, worker *podworker.Worker) error {
	for _, f := range factories {
		for typ, ok := range f.WaitForCacheSync(ctx.Done()) {
			if !ok {
				return fmt.Errorf("sync %v informer: %w", typ, ctx.Err())
			}
		}
	}
	pods, err := apiSrc.lister.List(labels.Everything())
	if err != nil {
		return err
	}
	worker.AdmitRunning(pods)
	apiSrc.ready.Store(true)
	enqueue := func(obj any) {
		if k, err := cache.DeletionHandlingMetaNamespaceKeyFunc(obj); err == nil {
			worker.Enqueue(k)
		}
	}
	// Added after the sync, the handler is first told of every pod the
	// informer holds.
	if _, err := podInformer.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: enqueue, UpdateFunc: func(_, n any) { enqueue(n) }, DeleteFunc: enqueue,
	}); err != nil {
		return fmt.Errorf("pod informer: %w", err)
	}
	slog.Info("pods of the API synced", "pods", len(pods))
	return nil
}

// runStaticPods reloads the manifest directory and, with an apiserver,
// keeps the mirror pods in step once the Node is registered (closed
// registered), until ctx ends.
func runStaticPods(ctx context.Context, cfg Config, static *staticpods.Source, client kubernetes.Interface, registered <-chan struct{}, worker *podworker.Worker) {
	every := cfg.FileCheckFrequency
	if every <= 0 {
		every = 20 * time.Second
	}
	var mirrors *staticpods.Mirrors
	if client != nil {
		mirrors = &staticpods.Mirrors{Static: static, Client: client, NodeName: cfg.NodeName}
	}
	t := time.NewTicker(every)
	defer t.Stop()
	// Mirror pods are made only for a registered Node (they are owned by
	// it), as upstream; until then registered is the signal to wait for.
	waitRegistered := registered
	syncMirrors := func() {
		if mirrors == nil || waitRegistered != nil {
			return
		}
		if err := mirrors.Sync(ctx); err != nil && ctx.Err() == nil {
			slog.Warn("mirror pods", "err", err)
			return
		}
		// The worker writes the static pods' statuses to their mirrors on
		// its next sync of each.
		keys, _ := static.List()
		for _, p := range keys {
			worker.Enqueue(p.Namespace + "/" + p.Name)
		}
	}
	if mirrors == nil {
		waitRegistered = nil
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-waitRegistered:
			waitRegistered = nil
			syncMirrors()
			continue
		case <-t.C:
		}
		keys, err := static.Load()
		if err != nil {
			slog.Warn("static pods", "dir", cfg.PodManifestPath, "err", err)
		}
		for _, k := range keys {
			worker.Enqueue(k)
		}
		syncMirrors()
	}
}

// workerPods hands the eviction manager the pod worker, made after it.
type workerPods struct{ w **podworker.Worker }

func (p *workerPods) ActivePods() []*v1.Pod { return (*p.w).ActivePods() }
func (p *workerPods) Evict(pod *v1.Pod, message string, grace time.Duration) {
	(*p.w).Evict(pod, message, grace)
}

// errAPINotSynced is the answer of the API's pod source until it has the
// node's pods: the worker does not take pods it cannot see yet for orphans.
var errAPINotSynced = errors.New("kubelet: the API's pods are not synced yet")

// apiSource serves pods from the informer's cache. Until ready, it has
// none: Get finds nothing and List fails with errAPINotSynced.
type apiSource struct {
	lister listersv1.PodLister
	ready  atomic.Bool
}

func (s *apiSource) Get(key string) (*v1.Pod, error) {
	if !s.ready.Load() {
		return nil, nil
	}
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil, err
	}
	p, err := s.lister.Pods(ns).Get(name)
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return p.DeepCopy(), nil
}

func (s *apiSource) List() ([]*v1.Pod, error) {
	if !s.ready.Load() {
		return nil, errAPINotSynced
	}
	pods, err := s.lister.List(labels.Everything())
	if err != nil {
		return nil, err
	}
	out := make([]*v1.Pod, len(pods))
	for i, p := range pods {
		out[i] = p.DeepCopy()
	}
	return out, nil
}

// apiWriter writes pod statuses to pods/status and finishes deletions.
type apiWriter struct{ client kubernetes.Interface }

func (a *apiWriter) WriteStatus(ctx context.Context, pod *v1.Pod, st v1.PodStatus) error {
	p := pod.DeepCopy()
	p.Status = mergeStatus(pod.Status, st)
	_, err := a.client.CoreV1().Pods(pod.Namespace).UpdateStatus(ctx, p, metav1.UpdateOptions{})
	if apierrors.IsConflict(err) {
		fresh, gerr := a.client.CoreV1().Pods(pod.Namespace).Get(ctx, pod.Name, metav1.GetOptions{})
		if gerr != nil || fresh.UID != pod.UID {
			return err
		}
		fresh.Status = mergeStatus(fresh.Status, st)
		_, err = a.client.CoreV1().Pods(pod.Namespace).UpdateStatus(ctx, fresh, metav1.UpdateOptions{})
	}
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}

// mergeStatus is the status to write: the kubelet's st, with the
// conditions of the stored status old that st does not set and the kubelet
// does not own kept. Readiness gates are others'; DisruptionTarget is
// shared: the kubelet sets it on the pods it evicts (and then its own
// wins), the API's eviction and the controllers on others (and theirs is
// kept).
func mergeStatus(old, st v1.PodStatus) v1.PodStatus {
	set := map[v1.PodConditionType]bool{}
	for _, c := range st.Conditions {
		set[c.Type] = true
	}
	out := *st.DeepCopy()
	for _, c := range old.Conditions {
		if !owned(c.Type) && !set[c.Type] {
			out.Conditions = append(out.Conditions, c)
		}
	}
	return out
}

func owned(t v1.PodConditionType) bool {
	switch t {
	case v1.PodReadyToStartContainers, v1.PodInitialized, v1.ContainersReady, v1.PodReady, v1.PodScheduled:
		return true
	}
	return false
}

func (a *apiWriter) Deleted(ctx context.Context, pod *v1.Pod) error {
	zero := int64(0)
	uid := pod.UID
	err := a.client.CoreV1().Pods(pod.Namespace).Delete(ctx, pod.Name, metav1.DeleteOptions{
		GracePeriodSeconds: &zero, Preconditions: &metav1.Preconditions{UID: &uid},
	})
	if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
		return nil
	}
	return err
}

// DefaultReserved is upstream's default hard eviction threshold for memory,
// held back from allocatable.
func DefaultReserved() v1.ResourceList {
	return v1.ResourceList{v1.ResourceMemory: resource.MustParse("100Mi")}
}
