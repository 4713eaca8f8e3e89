// Package nodeipam is the node IPAM controller: it gives every node a pod
// subnet (spec.podCIDR and spec.podCIDRs) carved from --cluster-cidr in
// /--node-cidr-mask-size blocks, never the same block to two nodes, and
// takes a block back when its node is deleted.
package nodeipam

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	coreinformers "k8s.io/client-go/informers/core/v1"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/workqueue"
)

// Name is the controller's name in the controller-manager's table.
const Name = "nodeipam"

// Controller is the node IPAM controller.
type Controller struct {
	client     kubernetes.Interface
	nodeLister corelisters.NodeLister
	nodeSynced cache.InformerSynced
	queue      workqueue.TypedRateLimitingInterface[string]
	recorder   record.EventRecorder

	mu       sync.Mutex
	set      *cidrSet
	assigned map[string]*net.IPNet // node name → its block
}

// NewController allocates from clusterCIDR in blocks of maskSize bits.
func NewController(client kubernetes.Interface, nodes coreinformers.NodeInformer, recorder record.EventRecorder, clusterCIDR string, maskSize int) (*Controller, error) {
	_, cluster, err := net.ParseCIDR(clusterCIDR)
	if err != nil {
		return nil, fmt.Errorf("nodeipam: --cluster-cidr: %w", err)
	}
	set, err := newCIDRSet(cluster, maskSize)
	if err != nil {
		return nil, err
	}
	c := &Controller{
		client:     client,
		nodeLister: nodes.Lister(),
		nodeSynced: nodes.Informer().HasSynced,
		queue:      workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[string](), workqueue.TypedRateLimitingQueueConfig[string]{Name: Name}),
		recorder:   recorder,
		set:        set,
		assigned:   map[string]*net.IPNet{},
	}
	nodes.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    c.enqueue,
		UpdateFunc: func(_, n any) { c.enqueue(n) },
		DeleteFunc: c.enqueue,
	})
	return c, nil
}

func (c *Controller) enqueue(obj any) {
	key, err := cache.DeletionHandlingMetaNamespaceKeyFunc(obj)
	if err != nil {
		utilruntime.HandleError(err)
		return
	}
	c.queue.Add(key)
}

// Run marks the blocks the nodes already have, then starts workers; it
// blocks until ctx is done.
func (c *Controller) Run(ctx context.Context, workers int) {
	defer utilruntime.HandleCrash()
	defer c.queue.ShutDown()
	slog.Info("starting controller", "controller", Name)
	defer slog.Info("stopping controller", "controller", Name)
	if !cache.WaitForCacheSync(ctx.Done(), c.nodeSynced) {
		return
	}
	if err := c.occupyExisting(); err != nil {
		utilruntime.HandleError(err)
	}
	for range workers {
		go wait.UntilWithContext(ctx, c.worker, time.Second)
	}
	<-ctx.Done()
}

// occupyExisting records every block already on a node, so none is handed
// out twice across controller restarts.
func (c *Controller) occupyExisting() error {
	nodes, err := c.nodeLister.List(labels.Everything())
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, n := range nodes {
		if n.Spec.PodCIDR == "" {
			continue
		}
		_, cidr, err := net.ParseCIDR(n.Spec.PodCIDR)
		if err != nil {
			utilruntime.HandleError(fmt.Errorf("node %s podCIDR %q: %w", n.Name, n.Spec.PodCIDR, err))
			continue
		}
		if ok, err := c.set.occupy(cidr); err != nil || !ok {
			utilruntime.HandleError(fmt.Errorf("node %s podCIDR %s: cannot reserve (taken or outside the cluster CIDR): %v", n.Name, cidr, err))
			continue
		}
		c.assigned[n.Name] = cidr
	}
	return nil
}

func (c *Controller) worker(ctx context.Context) {
	for c.processNextWorkItem(ctx) {
	}
}

func (c *Controller) processNextWorkItem(ctx context.Context) bool {
	key, quit := c.queue.Get()
	if quit {
		return false
	}
	defer c.queue.Done(key)
	if err := c.sync(ctx, key); err != nil {
		utilruntime.HandleError(fmt.Errorf("sync node %q: %w", key, err))
		c.queue.AddRateLimited(key)
		return true
	}
	c.queue.Forget(key)
	return true
}

func (c *Controller) sync(ctx context.Context, name string) error {
	node, err := c.nodeLister.Get(name)
	if apierrors.IsNotFound(err) {
		c.mu.Lock()
		defer c.mu.Unlock()
		if cidr, ok := c.assigned[name]; ok {
			delete(c.assigned, name)
			return c.set.release(cidr)
		}
		return nil
	}
	if err != nil {
		return err
	}
	if node.Spec.PodCIDR != "" {
		return c.recordExisting(node)
	}
	c.mu.Lock()
	cidr, ok := c.assigned[name]
	if !ok {
		cidr, err = c.set.allocate()
		if err != nil {
			c.mu.Unlock()
			c.recorder.Eventf(node, corev1.EventTypeWarning, "CIDRNotAvailable", "Node %s status is now: CIDRNotAvailable", name)
			return err
		}
		c.assigned[name] = cidr
	}
	c.mu.Unlock()
	patch, err := json.Marshal(map[string]any{"spec": map[string]any{"podCIDR": cidr.String(), "podCIDRs": []string{cidr.String()}}})
	if err != nil {
		return err
	}
	if _, err := c.client.CoreV1().Nodes().Patch(ctx, name, types.StrategicMergePatchType, patch, metav1.PatchOptions{}); err != nil {
		if apierrors.IsNotFound(err) {
			return nil // the NotFound sync releases it
		}
		c.recorder.Eventf(node, corev1.EventTypeWarning, "CIDRAssignmentFailed", "Node %s status is now: CIDRAssignmentFailed", name)
		return fmt.Errorf("assign %s to node %s: %w", cidr, name, err)
	}
	return nil
}

// recordExisting makes sure a node's block (set by us or by hand) is
// reserved under its name.
func (c *Controller) recordExisting(node *corev1.Node) error {
	_, cidr, err := net.ParseCIDR(node.Spec.PodCIDR)
	if err != nil {
		return nil // invalid input is not retried
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if have, ok := c.assigned[node.Name]; ok {
		if have.String() == cidr.String() {
			return nil
		}
		// The node was given another block than ours: free ours.
		_ = c.set.release(have)
		delete(c.assigned, node.Name)
	}
	if ok, err := c.set.occupy(cidr); err != nil || !ok {
		c.recorder.Eventf(node, corev1.EventTypeWarning, "CIDRNotAvailable", "Node %s podCIDR %s is outside the cluster CIDR or already used", node.Name, cidr)
		return nil
	}
	c.assigned[node.Name] = cidr
	return nil
}
