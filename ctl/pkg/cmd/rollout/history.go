package rollout

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"text/tabwriter"

	"github.com/spf13/cobra"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/strategicpatch"
	"k8s.io/client-go/kubernetes"

	"navarch.dev/ctl/pkg/cli"
	"navarch.dev/ctl/pkg/factory"
	"navarch.dev/ctl/pkg/printers"
)

// changeCauseAnnotation records the command that made a revision.
const changeCauseAnnotation = "kubernetes.io/change-cause"

const historyExample = `  # View the rollout history of a deployment
  navctl rollout history deployment/abc

  # View the details of daemonset revision 3
  navctl rollout history daemonset/abc --revision=3`

func newHistoryCommand(f *factory.Factory) *cobra.Command {
	var (
		t        targetFlags
		revision int64
		output   string
	)
	cmd := &cobra.Command{
		Use:                   "history (TYPE NAME | TYPE/NAME) [flags]",
		DisableFlagsInUseLine: true,
		Short:                 "View rollout history",
		Long:                  "View previous rollout revisions and configurations.",
		Example:               historyExample,
		RunE: func(cmd *cobra.Command, args []string) error {
			if revision < 0 {
				return fmt.Errorf("revision must be a positive integer: %v", revision)
			}
			ctx := cmd.Context()
			targets, errs, err := t.resolve(ctx, f, args)
			if err != nil {
				return err
			}
			client, err := f.Clientset()
			if err != nil {
				return err
			}
			for _, tg := range targets {
				if err := showHistory(ctx, f, client, tg, revision, output); err != nil {
					errs = append(errs, err)
				}
			}
			return cli.Aggregate(errs)
		},
	}
	t.addFlags(cmd, "identifying the resource to get from a server.")
	cmd.Flags().Int64Var(&revision, "revision", 0, "See the details, including podTemplate of the revision specified")
	cmd.Flags().StringVarP(&output, "output", "o", "", "Output format. One of: (json, yaml, name, go-template, go-template-file, template, templatefile, jsonpath, jsonpath-as-json, jsonpath-file).")
	return cmd
}

// revisionEntry is one revision of an object's history: the object that
// records it (a ReplicaSet or ControllerRevision), its pod template and
// the change cause.
type revisionEntry struct {
	obj         runtime.Object
	template    *corev1.PodTemplateSpec
	changeCause string
}

// history returns the object's revisions by number.
func history(ctx context.Context, c kubernetes.Interface, tg target) (map[int64]revisionEntry, error) {
	switch tg.kind() {
	case "Deployment":
		d, err := typed[appsv1.Deployment](tg.obj)
		if err != nil {
			return nil, err
		}
		rss, err := replicaSetsOf(ctx, c, d)
		if err != nil {
			return nil, fmt.Errorf("failed to retrieve replica sets from deployment %s: %v", d.Name, err)
		}
		out := map[int64]revisionEntry{}
		for _, rs := range rss {
			v, err := revisionOf(rs)
			if err != nil {
				continue
			}
			rs.Kind, rs.APIVersion = "ReplicaSet", "apps/v1"
			out[v] = revisionEntry{obj: rs, template: &rs.Spec.Template, changeCause: rs.Annotations[changeCauseAnnotation]}
		}
		return out, nil
	case "DaemonSet", "StatefulSet":
		return controllerRevisions(ctx, c, tg)
	}
	return nil, fmt.Errorf("error retrieving history for %q, no visitor method exists for {%s %s}", tg.kind(), tg.mapping.GroupVersionKind.Group, tg.kind())
}

// replicaSetsOf lists the ReplicaSets the Deployment controls.
func replicaSetsOf(ctx context.Context, c kubernetes.Interface, d *appsv1.Deployment) ([]*appsv1.ReplicaSet, error) {
	sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
	if err != nil {
		return nil, err
	}
	list, err := c.AppsV1().ReplicaSets(d.Namespace).List(ctx, metav1.ListOptions{LabelSelector: sel.String()})
	if err != nil {
		return nil, err
	}
	var out []*appsv1.ReplicaSet
	for i := range list.Items {
		if metav1.IsControlledBy(&list.Items[i], d) {
			out = append(out, &list.Items[i])
		}
	}
	return out, nil
}

// controllerRevisions reads a DaemonSet's or StatefulSet's history: each
// ControllerRevision holds a patch that sets the object's template.
func controllerRevisions(ctx context.Context, c kubernetes.Interface, tg target) (map[int64]revisionEntry, error) {
	sel, _, err := unstructuredSelector(tg)
	if err != nil {
		return nil, err
	}
	list, err := c.AppsV1().ControllerRevisions(tg.namespace()).List(ctx, metav1.ListOptions{LabelSelector: sel})
	if err != nil {
		return nil, err
	}
	current, err := tg.obj.MarshalJSON()
	if err != nil {
		return nil, err
	}
	var schema runtime.Object = &appsv1.DaemonSet{}
	if tg.kind() == "StatefulSet" {
		schema = &appsv1.StatefulSet{}
	}
	out := map[int64]revisionEntry{}
	for i := range list.Items {
		cr := &list.Items[i]
		if !metav1.IsControlledBy(cr, tg.obj) {
			continue
		}
		applied, err := strategicpatch.StrategicMergePatch(current, cr.Data.Raw, schema)
		if err != nil {
			return nil, fmt.Errorf("unable to parse history %s", cr.Name)
		}
		var obj struct {
			Spec struct {
				Template corev1.PodTemplateSpec `json:"template"`
			} `json:"spec"`
		}
		if err := json.Unmarshal(applied, &obj); err != nil {
			return nil, fmt.Errorf("unable to parse history %s", cr.Name)
		}
		cr.Kind, cr.APIVersion = "ControllerRevision", "apps/v1"
		out[cr.Revision] = revisionEntry{obj: cr, template: &obj.Spec.Template, changeCause: cr.Annotations[changeCauseAnnotation]}
	}
	return out, nil
}

// unstructuredSelector is the label selector of a workload's spec.
func unstructuredSelector(tg target) (string, *metav1.LabelSelector, error) {
	raw, found, err := unstructuredField(tg.obj.Object, "spec", "selector")
	if err != nil || !found {
		return "", nil, fmt.Errorf("%s %q has no selector", tg.kind(), tg.name())
	}
	var ls metav1.LabelSelector
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(raw, &ls); err != nil {
		return "", nil, err
	}
	sel, err := metav1.LabelSelectorAsSelector(&ls)
	if err != nil {
		return "", nil, err
	}
	return sel.String(), &ls, nil
}

func unstructuredField(obj map[string]any, path ...string) (map[string]any, bool, error) {
	cur := obj
	for _, p := range path {
		next, ok := cur[p].(map[string]any)
		if !ok {
			return nil, false, nil
		}
		cur = next
	}
	return cur, true, nil
}

func sortedRevisions(h map[int64]revisionEntry) []int64 {
	revs := make([]int64, 0, len(h))
	for r := range h {
		revs = append(revs, r)
	}
	sort.Slice(revs, func(i, j int) bool { return revs[i] < revs[j] })
	return revs
}

// showHistory prints the REVISION CHANGE-CAUSE table, or one revision's pod
// template, or with -o the objects recording the history.
func showHistory(ctx context.Context, f *factory.Factory, c kubernetes.Interface, tg target, revision int64, output string) error {
	h, err := history(ctx, c, tg)
	if err != nil {
		return err
	}
	if output != "" {
		p, err := printers.ForOutput(output)
		if err != nil {
			return err
		}
		if revision > 0 {
			e, ok := h[revision]
			if !ok {
				return errors.New("unable to find the specified revision")
			}
			return p.PrintObj(e.obj, f.IO.Out)
		}
		for _, r := range sortedRevisions(h) {
			if err := p.PrintObj(h[r].obj, f.IO.Out); err != nil {
				return err
			}
		}
		return nil
	}
	var body string
	switch {
	case len(h) == 0:
		body = "No rollout history found."
	case revision > 0:
		e, ok := h[revision]
		if !ok {
			return errors.New("unable to find the specified revision")
		}
		tmpl := e.template.DeepCopy()
		if e.changeCause != "" {
			if tmpl.Annotations == nil {
				tmpl.Annotations = map[string]string{}
			}
			tmpl.Annotations[changeCauseAnnotation] = e.changeCause
		}
		body = describeTemplate(tmpl)
	default:
		var buf bytes.Buffer
		w := tabwriter.NewWriter(&buf, 0, 8, 2, ' ', 0)
		fmt.Fprintln(w, "REVISION\tCHANGE-CAUSE")
		for _, r := range sortedRevisions(h) {
			cause := h[r].changeCause
			if cause == "" {
				cause = "<none>"
			}
			fmt.Fprintf(w, "%d\t%s\n", r, cause)
		}
		w.Flush()
		body = buf.String()
	}
	withRevision := ""
	if revision > 0 {
		withRevision = fmt.Sprintf("with revision #%d", revision)
	}
	fmt.Fprintf(f.IO.Out, "%s %s\n%s\n", kindName(tg), withRevision, body)
	return nil
}

// kindName is "deployment.apps/web".
func kindName(tg target) string { return printers.KindName(tg.obj) }

// equalIgnoreHash compares pod templates, ignoring the pod-template-hash label
// the Deployment controller adds to its ReplicaSets' templates.
func equalIgnoreHash(a, b *corev1.PodTemplateSpec) bool {
	a, b = a.DeepCopy(), b.DeepCopy()
	delete(a.Labels, appsv1.DefaultDeploymentUniqueLabelKey)
	delete(b.Labels, appsv1.DefaultDeploymentUniqueLabelKey)
	return apiequality.Semantic.DeepEqual(a, b)
}
