// Package rootcacertpublisher runs the root CA certificate publisher: every
// active namespace holds the ConfigMap kube-root-ca.crt whose ca.crt is the
// CA bundle that verifies the apiserver, which pods read through their
// kube-api-access volume. A deleted ConfigMap is made again and an edited
// one is put back.
package rootcacertpublisher

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"sync"
	"time"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	coreinformers "k8s.io/client-go/informers/core/v1"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
)

const (
	// ConfigMapName is the ConfigMap published in every namespace.
	ConfigMapName = "kube-root-ca.crt"
	// Key is the ConfigMap key holding the PEM bundle.
	Key = "ca.crt"
	// DescriptionAnnotation carries Description on the ConfigMap.
	DescriptionAnnotation = "kubernetes.io/description"
	// Description says what the bundle is for, in upstream's words.
	Description = "Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. " +
		"No other usage is guaranteed across distributions of Kubernetes clusters."
)

// Publisher is the root CA certificate publisher.
type Publisher struct {
	client   kubernetes.Interface
	rootCA   []byte
	nsLister corelisters.NamespaceLister
	nsSynced cache.InformerSynced
	cmLister corelisters.ConfigMapLister
	cmSynced cache.InformerSynced
	// queue holds namespace names.
	queue workqueue.TypedRateLimitingInterface[string]
}

// New wires a publisher of rootCA (PEM) to its informers.
func New(namespaces coreinformers.NamespaceInformer, configMaps coreinformers.ConfigMapInformer, client kubernetes.Interface, rootCA []byte) (*Publisher, error) {
	p := &Publisher{
		client:   client,
		rootCA:   rootCA,
		nsLister: namespaces.Lister(),
		nsSynced: namespaces.Informer().HasSynced,
		cmLister: configMaps.Lister(),
		cmSynced: configMaps.Informer().HasSynced,
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[string](),
			workqueue.TypedRateLimitingQueueConfig[string]{Name: "root_ca_cert_publisher"}),
	}
	if _, err := namespaces.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) { p.queue.Add(obj.(*v1.Namespace).Name) },
		UpdateFunc: func(_, obj any) {
			if ns := obj.(*v1.Namespace); ns.Status.Phase == v1.NamespaceActive {
				p.queue.Add(ns.Name)
			}
		},
	}); err != nil {
		return nil, err
	}
	// Only changes and deletions of the published ConfigMap matter: a
	// namespace's own sync creates it.
	if _, err := configMaps.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		UpdateFunc: func(_, obj any) { p.configMapChanged(obj) },
		DeleteFunc: p.configMapChanged,
	}); err != nil {
		return nil, err
	}
	return p, nil
}

func (p *Publisher) configMapChanged(obj any) {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	if cm, ok := obj.(*v1.ConfigMap); ok && cm.Name == ConfigMapName {
		p.queue.Add(cm.Namespace)
	}
}

// Run waits for the caches and runs workers until ctx ends.
func (p *Publisher) Run(ctx context.Context, workers int) {
	defer utilruntime.HandleCrash()
	defer p.queue.ShutDown()
	slog.Info("Starting controller", "controller", "root-ca-cert-publisher")
	defer slog.Info("Shutting down controller", "controller", "root-ca-cert-publisher")
	if !cache.WaitForNamedCacheSync("root-ca-cert-publisher", ctx.Done(), p.nsSynced, p.cmSynced) {
		return
	}
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			wait.UntilWithContext(ctx, func(ctx context.Context) {
				for p.processNextWorkItem(ctx) {
				}
			}, time.Second)
		}()
	}
	<-ctx.Done()
	p.queue.ShutDown()
	wg.Wait()
}

func (p *Publisher) processNextWorkItem(ctx context.Context) bool {
	key, quit := p.queue.Get()
	if quit {
		return false
	}
	defer p.queue.Done(key)
	if err := p.sync(ctx, key); err != nil {
		utilruntime.HandleError(fmt.Errorf("publish %s in namespace %q: %w", ConfigMapName, key, err))
		p.queue.AddRateLimited(key)
		return true
	}
	p.queue.Forget(key)
	return true
}

// sync makes the namespace's kube-root-ca.crt hold the bundle.
func (p *Publisher) sync(ctx context.Context, name string) error {
	ns, err := p.nsLister.Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if ns.DeletionTimestamp != nil || ns.Status.Phase == v1.NamespaceTerminating {
		return nil
	}
	want := map[string]string{Key: string(p.rootCA)}
	cm, err := p.cmLister.ConfigMaps(name).Get(ConfigMapName)
	if apierrors.IsNotFound(err) {
		_, err = p.client.CoreV1().ConfigMaps(name).Create(ctx, &v1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Name: ConfigMapName, Annotations: map[string]string{DescriptionAnnotation: Description}},
			Data:       want,
		}, metav1.CreateOptions{})
		// A namespace that went away (or started terminating) meanwhile
		// needs nothing more.
		if apierrors.IsNotFound(err) || apierrors.HasStatusCause(err, v1.NamespaceTerminatingCause) {
			return nil
		}
		return err
	}
	if err != nil {
		return err
	}
	// As upstream: the data must be exactly the bundle, and the description
	// present.
	if maps.Equal(cm.Data, want) && len(cm.BinaryData) == 0 && cm.Annotations[DescriptionAnnotation] != "" {
		return nil
	}
	cm = cm.DeepCopy()
	cm.Data = want
	cm.BinaryData = nil
	if cm.Annotations == nil {
		cm.Annotations = map[string]string{}
	}
	cm.Annotations[DescriptionAnnotation] = Description
	_, err = p.client.CoreV1().ConfigMaps(name).Update(ctx, cm, metav1.UpdateOptions{})
	return err
}
