// Package podautoscaler is the HorizontalPodAutoscaler controller
// (autoscaling/v2, CPU utilization): every sync period it reads the CPU use
// of the target's pods from the resource metrics API, computes the replica
// count that brings average utilization to the target (ignoring changes
// within the tolerance, 10% by default), holds scale-downs back by the
// highest recommendation of the stabilization window (5 minutes by
// default), limits scale-ups to upstream's default rate, clamps to
// min/maxReplicas and writes the target's scale subresource. Without a
// metrics API it reports ScalingActive=False with FailedGetResourceMetric.
package podautoscaler

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"time"

	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	autoscalinginformers "k8s.io/client-go/informers/autoscaling/v2"
	coreinformers "k8s.io/client-go/informers/core/v1"
	"k8s.io/client-go/kubernetes"
	autoscalinglisters "k8s.io/client-go/listers/autoscaling/v2"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/clock"

	"navarch.dev/controller-manager/pkg/controller/podstate"
)

// Name is the controller's name in the controller-manager's table.
const Name = "horizontalpodautoscaling"

// Config is the controller's tuning (upstream's flags).
type Config struct {
	SyncPeriod         time.Duration // --horizontal-pod-autoscaler-sync-period
	Tolerance          float64       // --horizontal-pod-autoscaler-tolerance
	DownscaleWindow    time.Duration // --horizontal-pod-autoscaler-downscale-stabilization
	ScaleUpLimitPeriod time.Duration // the default scaleUp policy period (15s)
}

// DefaultConfig returns upstream's defaults.
func DefaultConfig() Config {
	return Config{SyncPeriod: 15 * time.Second, Tolerance: 0.1, DownscaleWindow: 5 * time.Minute, ScaleUpLimitPeriod: 15 * time.Second}
}

type recommendation struct {
	at       time.Time
	replicas int32
}

// Controller is the HPA controller.
type Controller struct {
	client    kubernetes.Interface
	metrics   MetricsClient
	hpaLister autoscalinglisters.HorizontalPodAutoscalerLister
	podLister corelisters.PodLister
	synced    []cache.InformerSynced
	queue     workqueue.TypedRateLimitingInterface[string]
	recorder  record.EventRecorder
	clock     clock.Clock
	cfg       Config

	mu              sync.Mutex
	recommendations map[string][]recommendation
}

// NewController wires the controller. clk may be nil (real time).
func NewController(client kubernetes.Interface, metrics MetricsClient, hpas autoscalinginformers.HorizontalPodAutoscalerInformer, pods coreinformers.PodInformer,
	recorder record.EventRecorder, clk clock.Clock, cfg Config) *Controller {
	if clk == nil {
		clk = clock.RealClock{}
	}
	c := &Controller{
		client:          client,
		metrics:         metrics,
		hpaLister:       hpas.Lister(),
		podLister:       pods.Lister(),
		synced:          []cache.InformerSynced{hpas.Informer().HasSynced, pods.Informer().HasSynced},
		queue:           workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[string](), workqueue.TypedRateLimitingQueueConfig[string]{Name: "horizontalpodautoscaler"}),
		recorder:        recorder,
		clock:           clk,
		cfg:             cfg,
		recommendations: map[string][]recommendation{},
	}
	hpas.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    c.enqueue,
		UpdateFunc: func(_, n any) { c.enqueue(n) },
		DeleteFunc: c.enqueue,
	})
	return c
}

func (c *Controller) enqueue(obj any) {
	key, err := cache.DeletionHandlingMetaNamespaceKeyFunc(obj)
	if err != nil {
		utilruntime.HandleError(err)
		return
	}
	c.queue.Add(key)
}

// Run starts workers and blocks until ctx is done.
func (c *Controller) Run(ctx context.Context, workers int) {
	defer utilruntime.HandleCrash()
	defer c.queue.ShutDown()
	slog.Info("starting controller", "controller", Name)
	defer slog.Info("stopping controller", "controller", Name)
	if !cache.WaitForCacheSync(ctx.Done(), c.synced...) {
		return
	}
	for range workers {
		go wait.UntilWithContext(ctx, c.worker, time.Second)
	}
	<-ctx.Done()
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
	err := c.sync(ctx, key)
	if err != nil {
		utilruntime.HandleError(fmt.Errorf("sync hpa %q: %w", key, err))
		c.queue.AddRateLimited(key)
		return true
	}
	c.queue.Forget(key)
	return true
}

// scaleClient reads and writes the scale subresource of the kinds an HPA
// can target.
func (c *Controller) getScale(ctx context.Context, ns string, ref autoscalingv2.CrossVersionObjectReference) (*autoscalingv1.Scale, error) {
	switch ref.Kind {
	case "Deployment":
		return c.client.AppsV1().Deployments(ns).GetScale(ctx, ref.Name, metav1.GetOptions{})
	case "ReplicaSet":
		return c.client.AppsV1().ReplicaSets(ns).GetScale(ctx, ref.Name, metav1.GetOptions{})
	case "StatefulSet":
		return c.client.AppsV1().StatefulSets(ns).GetScale(ctx, ref.Name, metav1.GetOptions{})
	case "ReplicationController":
		return c.client.CoreV1().ReplicationControllers(ns).GetScale(ctx, ref.Name, metav1.GetOptions{})
	}
	return nil, fmt.Errorf("unsupported scale target kind %q", ref.Kind)
}

func (c *Controller) updateScale(ctx context.Context, ns string, ref autoscalingv2.CrossVersionObjectReference, s *autoscalingv1.Scale) error {
	var err error
	switch ref.Kind {
	case "Deployment":
		_, err = c.client.AppsV1().Deployments(ns).UpdateScale(ctx, ref.Name, s, metav1.UpdateOptions{})
	case "ReplicaSet":
		_, err = c.client.AppsV1().ReplicaSets(ns).UpdateScale(ctx, ref.Name, s, metav1.UpdateOptions{})
	case "StatefulSet":
		_, err = c.client.AppsV1().StatefulSets(ns).UpdateScale(ctx, ref.Name, s, metav1.UpdateOptions{})
	case "ReplicationController":
		_, err = c.client.CoreV1().ReplicationControllers(ns).UpdateScale(ctx, ref.Name, s, metav1.UpdateOptions{})
	default:
		err = fmt.Errorf("unsupported scale target kind %q", ref.Kind)
	}
	return err
}

func (c *Controller) sync(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return err
	}
	shared, err := c.hpaLister.HorizontalPodAutoscalers(ns).Get(name)
	if apierrors.IsNotFound(err) {
		c.mu.Lock()
		delete(c.recommendations, key)
		c.mu.Unlock()
		return nil
	}
	if err != nil {
		return err
	}
	hpa := shared.DeepCopy()
	now := c.clock.Now()
	err = c.reconcile(ctx, key, hpa, now)
	hpa.Status.ObservedGeneration = &hpa.Generation
	if !equality.Semantic.DeepEqual(shared.Status, hpa.Status) {
		if _, uerr := c.client.AutoscalingV2().HorizontalPodAutoscalers(ns).UpdateStatus(ctx, hpa, metav1.UpdateOptions{}); uerr != nil {
			return fmt.Errorf("update status: %w", uerr)
		}
	}
	if err != nil {
		return err
	}
	// Metrics change without events: look again every sync period.
	c.queue.AddAfter(key, c.cfg.SyncPeriod)
	return nil
}

func (c *Controller) reconcile(ctx context.Context, key string, hpa *autoscalingv2.HorizontalPodAutoscaler, now time.Time) error {
	ref := hpa.Spec.ScaleTargetRef
	scale, err := c.getScale(ctx, hpa.Namespace, ref)
	if err != nil {
		msg := fmt.Sprintf("the HPA controller was unable to get the target's current scale: %v", err)
		setCondition(hpa, autoscalingv2.AbleToScale, corev1.ConditionFalse, "FailedGetScale", msg, now)
		c.recorder.Event(hpa, corev1.EventTypeWarning, "FailedGetScale", err.Error())
		return nil
	}
	setCondition(hpa, autoscalingv2.AbleToScale, corev1.ConditionTrue, "SucceededGetScale", "the HPA controller was able to get the target's current scale", now)
	current := scale.Spec.Replicas
	hpa.Status.CurrentReplicas = scale.Status.Replicas
	minReplicas := int32(1)
	if hpa.Spec.MinReplicas != nil {
		minReplicas = *hpa.Spec.MinReplicas
	}
	if current == 0 && minReplicas != 0 {
		setCondition(hpa, autoscalingv2.ScalingActive, corev1.ConditionFalse, "ScalingDisabled", "scaling is disabled since the replica count of the target is zero", now)
		hpa.Status.DesiredReplicas = 0
		return nil
	}

	proposal, metricStatus, err := c.cpuProposal(ctx, hpa, scale, current)
	if err != nil {
		msg := fmt.Sprintf("the HPA was unable to compute the replica count: %v", err)
		setCondition(hpa, autoscalingv2.ScalingActive, corev1.ConditionFalse, "FailedGetResourceMetric", msg, now)
		c.recorder.Event(hpa, corev1.EventTypeWarning, "FailedGetResourceMetric", err.Error())
		c.recorder.Eventf(hpa, corev1.EventTypeWarning, "FailedComputeMetricsReplicas", "invalid metrics (1 invalid out of 1), first error is: failed to get cpu resource metric value: %v", err)
		hpa.Status.DesiredReplicas = current
		return nil
	}
	setCondition(hpa, autoscalingv2.ScalingActive, corev1.ConditionTrue, "ValidMetricFound",
		"the HPA was able to successfully calculate a replica count from cpu resource utilization (percentage of request)", now)
	if metricStatus != nil {
		hpa.Status.CurrentMetrics = []autoscalingv2.MetricStatus{*metricStatus}
	}

	desired := c.stabilize(key, hpa, current, proposal, now)
	// Upstream's default scale-up policy: at most double, or +4 pods,
	// whichever is more, per period.
	if up := max(2*current, current+4); desired > up {
		desired = up
	}
	maxReplicas := hpa.Spec.MaxReplicas
	switch {
	case desired > maxReplicas:
		setCondition(hpa, autoscalingv2.ScalingLimited, corev1.ConditionTrue, "TooManyReplicas", "the desired replica count is more than the maximum replica count", now)
		desired = maxReplicas
	case desired < minReplicas:
		setCondition(hpa, autoscalingv2.ScalingLimited, corev1.ConditionTrue, "TooFewReplicas", "the desired replica count is less than the minimum replica count", now)
		desired = minReplicas
	default:
		setCondition(hpa, autoscalingv2.ScalingLimited, corev1.ConditionFalse, "DesiredWithinRange", "the desired count is within the acceptable range", now)
	}
	hpa.Status.DesiredReplicas = desired
	if desired == current {
		return nil
	}
	s := scale.DeepCopy()
	s.Spec.Replicas = desired
	if err := c.updateScale(ctx, hpa.Namespace, ref, s); err != nil {
		setCondition(hpa, autoscalingv2.AbleToScale, corev1.ConditionFalse, "FailedUpdateScale", fmt.Sprintf("the HPA controller was unable to update the target scale: %v", err), now)
		c.recorder.Eventf(hpa, corev1.EventTypeWarning, "FailedRescale", "New size: %d; reason: %s; error: %v", desired, direction(desired, current), err)
		return fmt.Errorf("rescale %s/%s: %w", ref.Kind, ref.Name, err)
	}
	setCondition(hpa, autoscalingv2.AbleToScale, corev1.ConditionTrue, "SucceededRescale", fmt.Sprintf("the HPA controller was able to update the target scale to %d", desired), now)
	c.recorder.Eventf(hpa, corev1.EventTypeNormal, "SuccessfulRescale", "New size: %d; reason: %s", desired, direction(desired, current))
	hpa.Status.LastScaleTime = &metav1.Time{Time: now}
	return nil
}

func direction(desired, current int32) string {
	if desired > current {
		return "cpu resource utilization (percentage of request) above target"
	}
	return "All metrics below target"
}

// cpuTarget returns the CPU utilization target, percent.
func cpuTarget(hpa *autoscalingv2.HorizontalPodAutoscaler) (int32, error) {
	for _, m := range hpa.Spec.Metrics {
		if m.Type == autoscalingv2.ResourceMetricSourceType && m.Resource != nil && m.Resource.Name == corev1.ResourceCPU &&
			m.Resource.Target.Type == autoscalingv2.UtilizationMetricType && m.Resource.Target.AverageUtilization != nil {
			return *m.Resource.Target.AverageUtilization, nil
		}
	}
	if len(hpa.Spec.Metrics) == 0 {
		return 80, nil // upstream's default when no metric is given
	}
	return 0, fmt.Errorf("only resource metrics of cpu with a Utilization target are supported")
}

// cpuProposal is the replica count that brings average CPU utilization of
// the ready pods to the target, or current when within the tolerance.
func (c *Controller) cpuProposal(ctx context.Context, hpa *autoscalingv2.HorizontalPodAutoscaler, scale *autoscalingv1.Scale, current int32) (int32, *autoscalingv2.MetricStatus, error) {
	target, err := cpuTarget(hpa)
	if err != nil {
		return 0, nil, err
	}
	sel, err := labels.Parse(scale.Status.Selector)
	if err != nil {
		return 0, nil, fmt.Errorf("target selector %q: %w", scale.Status.Selector, err)
	}
	usage, err := c.metrics.PodCPU(ctx, hpa.Namespace, sel)
	if err != nil {
		return 0, nil, fmt.Errorf("failed to get cpu utilization: unable to get metrics for resource cpu: %w", err)
	}
	pods, err := c.podLister.Pods(hpa.Namespace).List(sel)
	if err != nil {
		return 0, nil, err
	}
	var used, requested int64
	ready := int32(0)
	for _, p := range pods {
		if p.DeletionTimestamp != nil || p.Status.Phase != corev1.PodRunning || !podstate.Ready(p) {
			continue
		}
		u, ok := usage[p.Name]
		if !ok {
			continue
		}
		var req int64
		for _, ct := range p.Spec.Containers {
			q, ok := ct.Resources.Requests[corev1.ResourceCPU]
			if !ok {
				return 0, nil, fmt.Errorf("failed to get cpu utilization: missing request for cpu in container %s of Pod %s", ct.Name, p.Name)
			}
			req += q.MilliValue()
		}
		used += u
		requested += req
		ready++
	}
	if ready == 0 || requested == 0 {
		return 0, nil, fmt.Errorf("failed to get cpu utilization: did not receive metrics for targeted pods (pods might be unready)")
	}
	utilization := int32(used * 100 / requested)
	status := &autoscalingv2.MetricStatus{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricStatus{
		Name:    corev1.ResourceCPU,
		Current: autoscalingv2.MetricValueStatus{AverageUtilization: &utilization},
	}}
	ratio := float64(used) / float64(requested) / (float64(target) / 100)
	if math.Abs(ratio-1) <= c.cfg.Tolerance {
		return current, status, nil
	}
	return int32(math.Ceil(ratio * float64(ready))), status, nil
}

// stabilize records the proposal and returns the replica count to use:
// for a scale down, the highest proposal of the window, so a brief dip does
// not remove pods the next minute needs.
func (c *Controller) stabilize(key string, hpa *autoscalingv2.HorizontalPodAutoscaler, current, proposal int32, now time.Time) int32 {
	window := c.cfg.DownscaleWindow
	if b := hpa.Spec.Behavior; b != nil && b.ScaleDown != nil && b.ScaleDown.StabilizationWindowSeconds != nil {
		window = time.Duration(*b.ScaleDown.StabilizationWindowSeconds) * time.Second
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	var kept []recommendation
	for _, r := range c.recommendations[key] {
		if now.Sub(r.at) < window {
			kept = append(kept, r)
		}
	}
	kept = append(kept, recommendation{at: now, replicas: proposal})
	c.recommendations[key] = kept
	if proposal >= current {
		return proposal
	}
	highest := proposal
	for _, r := range kept {
		highest = max(highest, r.replicas)
	}
	return min(highest, current)
}

func setCondition(hpa *autoscalingv2.HorizontalPodAutoscaler, t autoscalingv2.HorizontalPodAutoscalerConditionType, status corev1.ConditionStatus, reason, message string, now time.Time) {
	for i := range hpa.Status.Conditions {
		c := &hpa.Status.Conditions[i]
		if c.Type != t {
			continue
		}
		if c.Status != status {
			c.LastTransitionTime = metav1.Time{Time: now}
		}
		c.Status, c.Reason, c.Message = status, reason, message
		return
	}
	hpa.Status.Conditions = append(hpa.Status.Conditions, autoscalingv2.HorizontalPodAutoscalerCondition{
		Type: t, Status: status, Reason: reason, Message: message, LastTransitionTime: metav1.Time{Time: now},
	})
}
