// Package kubelet wires the node agent together: the CRI runtime, the Node
// reporter, the pod informer (only this node's pods), the pod worker and the
// health and read-only HTTP endpoints.
package kubelet

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	listersv1 "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"

	"navarch.dev/kubelet/pkg/nodestatus"
	"navarch.dev/kubelet/pkg/podworker"
	"navarch.dev/kubelet/pkg/runtime"
)

// Config is the kubelet's typed configuration, built from flags.
type Config struct {
	NodeName         string
	NodeIP           string
	Hostname         string
	RuntimeEndpoint  string
	ClusterDNS       []string
	ClusterDomain    string
	ResolvConf       string
	MaxPods          int
	NodeLabels       map[string]string
	Taints           []v1.Taint
	Reserved         v1.ResourceList
	PodLogRoot       string
	RootDir          string
	Port             int
	HealthzAddr      string // "" disables
	ReadOnlyAddr     string // "" disables
	StatusInterval   time.Duration
	Workers          int
	Resync           time.Duration
	RemovePodCgroups bool
}

// Run runs the kubelet until ctx ends.
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
	rtCheck := func(ctx context.Context) (string, error) {
		v, err := rt.Version(ctx)
		if err != nil {
			return "", err
		}
		return v.RuntimeName + "://" + v.RuntimeVersion, nil
	}

	reporter := nodestatus.New(nodestatus.Config{
		NodeName: cfg.NodeName, NodeIP: cfg.NodeIP, Hostname: cfg.Hostname, Labels: cfg.NodeLabels,
		Taints: cfg.Taints, MaxPods: cfg.MaxPods, Reserved: cfg.Reserved, RootDir: cfg.RootDir, Port: int32(cfg.Port),
	}, client, rtCheck)
	if _, err := reporter.Register(ctx); err != nil {
		return err
	}
	slog.Info("node registered", "node", cfg.NodeName)

	factory := informers.NewSharedInformerFactoryWithOptions(client, 0,
		informers.WithTweakListOptions(func(o *metav1.ListOptions) {
			o.FieldSelector = fields.OneTermEqualSelector("spec.nodeName", cfg.NodeName).String()
		}))
	podInformer := factory.Core().V1().Pods()
	svcFactory := informers.NewSharedInformerFactory(client, 0)
	svcLister := svcFactory.Core().V1().Services().Lister()

	capacity := nodestatus.Capacity(cfg.MaxPods, cfg.RootDir)
	src := &apiSource{lister: podInformer.Lister()}
	worker := podworker.New(podworker.Config{
		NodeName: cfg.NodeName, NodeIP: cfg.NodeIP, ClusterDNS: cfg.ClusterDNS, ClusterDomain: cfg.ClusterDomain,
		ResolvConf: cfg.ResolvConf, PodLogRoot: cfg.PodLogRoot, MachineMemory: capacity.Memory().Value(),
		Allocatable: nodestatus.Allocatable(capacity, cfg.Reserved), Workers: cfg.Workers, Resync: cfg.Resync,
		RemoveCgroups: cfg.RemovePodCgroups,
	}, podworker.Options{
		Runtime:  rt,
		Client:   client,
		Services: func() ([]*v1.Service, error) { return svcLister.List(labels.Everything()) },
		Source:   src,
		Writer:   &apiWriter{client: client},
	})
	enqueue := func(obj any) {
		if k, err := cache.DeletionHandlingMetaNamespaceKeyFunc(obj); err == nil {
			worker.Enqueue(k)
		}
	}
	if _, err := podInformer.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: enqueue, UpdateFunc: func(_, n any) { enqueue(n) }, DeleteFunc: enqueue,
	}); err != nil {
		return err
	}
	factory.Start(ctx.Done())
	svcFactory.Start(ctx.Done())
	for typ, ok := range factory.WaitForCacheSync(ctx.Done()) {
		if !ok {
			return fmt.Errorf("sync %v informer: %w", typ, ctx.Err())
		}
	}
	svcFactory.WaitForCacheSync(ctx.Done())

	errc := make(chan error, 4)
	serve := func(addr string, h http.Handler) {
		if addr == "" {
			return
		}
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			errc <- fmt.Errorf("listen %s: %w", addr, err)
			return
		}
		srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
		go func() { <-ctx.Done(); srv.Close() }()
		go func() {
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				errc <- err
			}
		}()
	}
	health := http.NewServeMux()
	health.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		if _, err := rt.Version(r.Context()); err != nil {
			http.Error(w, "container runtime down: "+err.Error(), http.StatusInternalServerError)
			return
		}
		w.Write([]byte("ok"))
	})
	serve(cfg.HealthzAddr, health)
	ro := http.NewServeMux()
	ro.Handle("/healthz", health)
	ro.HandleFunc("/pods", func(w http.ResponseWriter, r *http.Request) {
		pods, _ := src.List()
		list := v1.PodList{TypeMeta: metav1.TypeMeta{Kind: "PodList", APIVersion: "v1"}}
		for _, p := range pods {
			if st, ok := worker.Status(p.UID); ok {
				p.Status = st
			}
			list.Items = append(list.Items, *p)
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(list)
	})
	serve(cfg.ReadOnlyAddr, ro)

	go reporter.Run(ctx, cfg.StatusInterval)
	go worker.Run(ctx)
	select {
	case <-ctx.Done():
		return nil
	case err := <-errc:
		return err
	}
}

// apiSource serves pods from the informer's cache.
type apiSource struct{ lister listersv1.PodLister }

func (s *apiSource) Get(key string) (*v1.Pod, error) {
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
	p.Status = st
	// Conditions the kubelet does not own (readiness gates, DisruptionTarget)
	// are kept.
	for _, c := range pod.Status.Conditions {
		if !owned(c.Type) {
			p.Status.Conditions = append(p.Status.Conditions, c)
		}
	}
	_, err := a.client.CoreV1().Pods(pod.Namespace).UpdateStatus(ctx, p, metav1.UpdateOptions{})
	if apierrors.IsConflict(err) {
		fresh, gerr := a.client.CoreV1().Pods(pod.Namespace).Get(ctx, pod.Name, metav1.GetOptions{})
		if gerr != nil || fresh.UID != pod.UID {
			return err
		}
		fresh.Status = p.Status
		_, err = a.client.CoreV1().Pods(pod.Namespace).UpdateStatus(ctx, fresh, metav1.UpdateOptions{})
	}
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
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
