// Package wait is `navctl wait`: waiting until objects are created, deleted,
// have a status condition, or have a value at a JSONPath.
package wait

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/util/jsonpath"

	"navarch.dev/ctl/pkg/cli"
	"navarch.dev/ctl/pkg/factory"
	"navarch.dev/ctl/pkg/printers"
	"navarch.dev/ctl/pkg/resource"
)

const waitLong = `Experimental: Wait for a specific condition on one or many resources.

 The command takes multiple resources and waits until the specified condition is seen in the Status field of every given resource.

 Alternatively, the command can wait for the given set of resources to be created or deleted by providing the "create" or "delete" keyword as the value to the --for flag.

 A successful message will be printed to stdout indicating when the specified condition has been met. You can use -o option to change to output destination.`

const waitExample = `  # Wait for the pod "busybox1" to contain the status condition of type "Ready"
  navctl wait --for=condition=Ready pod/busybox1

  # The default value of status condition is true; you can wait for other targets after an equal delimiter (compared after Unicode simple case folding, which is a more general form of case-insensitivity)
  navctl wait --for=condition=Ready=false pod/busybox1

  # Wait for the pod "busybox1" to contain the status phase to be "Running"
  navctl wait --for=jsonpath='{.status.phase}'=Running pod/busybox1

  # Wait for pod "busybox1" to be Ready
  navctl wait --for='jsonpath={.status.conditions[?(@.type=="Ready")].status}=True' pod/busybox1

  # Wait for the service "loadbalancer" to have ingress
  navctl wait --for=jsonpath='{.status.loadBalancer.ingress}' service/loadbalancer

  # Wait for the secret "busybox1" to be created, with a timeout of 30s
  navctl create secret generic busybox1
  navctl wait --for=create secret/busybox1 --timeout=30s

  # Wait for the pod "busybox1" to be deleted, with a timeout of 60s, after having issued the "delete" command
  navctl delete pod/busybox1
  navctl wait --for=delete pod/busybox1 --timeout=60s`

// condition is what --for waits for, checked against the object as the
// server has it (nil when it does not exist).
type condition struct {
	// met reports whether obj satisfies the condition.
	met func(obj *unstructured.Unstructured) (bool, error)
	// create and delete are the existence conditions.
	create, delete bool
}

type options struct {
	sel     resource.Selection
	forSpec string
	timeout time.Duration
	output  string
}

// NewCommand returns `navctl wait`.
func NewCommand(f *factory.Factory) *cobra.Command {
	o := &options{}
	cmd := &cobra.Command{
		Use:                   "wait ([-f FILENAME] | resource.group/resource.name | resource.group [(-l label | --all)]) [--for=create|--for=delete|--for condition=available|--for=jsonpath='{}'[=value]]",
		DisableFlagsInUseLine: true,
		Short:                 "Experimental: Wait for a specific condition on one or many resources",
		Long:                  waitLong,
		Example:               waitExample,
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.run(cmd.Context(), f, args)
		},
	}
	fs := cmd.Flags()
	o.sel.Files.AddFlags(fs, "identifying the resource.")
	o.sel.AddSelectorFlags(fs, "Select all resources in the namespace of the specified resource types")
	fs.Lookup("all-namespaces").Usage = "If present, list the requested object(s) across all namespaces. Namespace in current context is ignored even if specified with --namespace."
	fs.StringVar(&o.forSpec, "for", "", "The condition to wait on: [create|delete|condition=condition-name[=condition-value]|jsonpath='{JSONPath expression}'=[JSONPath value]]. The default condition-value is true.  Condition values are compared after Unicode simple case folding, which is a more general form of case-insensitivity.")
	fs.DurationVar(&o.timeout, "timeout", 30*time.Second, "The length of time to wait before giving up.  Zero means check once and don't wait, negative means wait for a week.")
	fs.StringVarP(&o.output, "output", "o", "", "Output format. One of: (json, yaml, name, go-template, go-template-file, template, templatefile, jsonpath, jsonpath-as-json, jsonpath-file).")
	o.sel.Stdin = f.IO.In
	return cmd
}

// parseFor reads --for: create, delete, condition=NAME[=VALUE] or
// jsonpath=EXPR[=VALUE].
func parseFor(spec string) (*condition, error) {
	switch {
	case strings.ToLower(spec) == "delete":
		return &condition{delete: true}, nil
	case strings.ToLower(spec) == "create":
		return &condition{create: true}, nil
	case strings.HasPrefix(spec, "condition="):
		name, value, hasValue := strings.Cut(strings.TrimPrefix(spec, "condition="), "=")
		if !hasValue {
			value = "true"
		}
		return &condition{met: func(obj *unstructured.Unstructured) (bool, error) {
			return hasCondition(obj, name, value), nil
		}}, nil
	case strings.HasPrefix(spec, "jsonpath="):
		return parseJSONPath(strings.TrimPrefix(spec, "jsonpath="))
	}
	return nil, fmt.Errorf("unrecognized condition: %q", spec)
}

// hasCondition reports whether obj's status has a condition of type name
// with status value (both compared case-insensitively), observed at its
// current generation.
func hasCondition(obj *unstructured.Unstructured, name, value string) bool {
	conds, _, _ := unstructured.NestedSlice(obj.Object, "status", "conditions")
	for _, c := range conds {
		c, ok := c.(map[string]any)
		if !ok {
			continue
		}
		typ, _ := c["type"].(string)
		if !strings.EqualFold(typ, name) {
			continue
		}
		if og, ok, _ := unstructured.NestedInt64(c, "observedGeneration"); ok && og < obj.GetGeneration() {
			continue
		}
		status, _ := c["status"].(string)
		return strings.EqualFold(status, value)
	}
	return false
}

// parseJSONPath reads "{.a.b}=value" (braces optional): with a value, the
// expression must yield it; without, it must yield something.
func parseJSONPath(s string) (*condition, error) {
	expr, value, hasValue := s, "", false
	if end := strings.LastIndex(s, "}"); strings.HasPrefix(s, "{") && end > 0 {
		expr = s[:end+1]
		if rest := s[end+1:]; rest != "" {
			if !strings.HasPrefix(rest, "=") {
				return nil, fmt.Errorf("jsonpath wait format must be --for=jsonpath='{.status.readyReplicas}'=3 or --for=jsonpath='{.status.readyReplicas}'")
			}
			value, hasValue = rest[1:], true
		}
	} else if i := strings.LastIndex(s, "="); i > 0 {
		expr, value, hasValue = s[:i], s[i+1:], true
	}
	if !strings.HasPrefix(expr, "{") {
		expr = "{" + expr + "}"
	}
	if expr == "{}" {
		return nil, errors.New("jsonpath expression cannot be empty")
	}
	jp := jsonpath.New("wait")
	if err := jp.Parse(expr); err != nil {
		return nil, err
	}
	return &condition{met: func(obj *unstructured.Unstructured) (bool, error) {
		results, err := jp.FindResults(obj.Object)
		if err != nil || len(results) == 0 || len(results[0]) == 0 {
			return false, nil
		}
		if !hasValue {
			return true, nil
		}
		var buf bytes.Buffer
		if err := jp.PrintResults(&buf, results[0]); err != nil {
			return false, err
		}
		return buf.String() == value, nil
	}}, nil
}

func (o *options) run(ctx context.Context, f *factory.Factory, args []string) error {
	cond, err := parseFor(o.forSpec)
	if err != nil {
		return err
	}
	if o.output != "" {
		if _, err := printers.ForOutput(o.output); err != nil {
			return err
		}
	}
	timeout := o.timeout
	if timeout < 0 {
		timeout = 7 * 24 * time.Hour
	}
	infos, errs, err := o.sel.Resolve(ctx, f, args, false)
	if err != nil {
		return err
	}
	if len(errs) > 0 {
		return cli.Aggregate(errs)
	}
	if len(infos) == 0 {
		if cond.delete {
			return nil
		}
		return errors.New("no matching resources found")
	}
	dyn, err := f.Dynamic()
	if err != nil {
		return err
	}
	var failures []error
	for _, info := range infos {
		obj, err := waitFor(ctx, dyn, info, cond, timeout)
		if err != nil {
			failures = append(failures, err)
			continue
		}
		if obj == nil {
			// Already gone when waiting for deletion: nothing to report.
			continue
		}
		if err := printers.Operation(f.IO.Out, obj, "condition met", cli.DryRunNone, o.output); err != nil {
			return err
		}
	}
	return cli.Aggregate(failures)
}

// waitFor polls the object until cond holds or timeout passes. It returns
// the object that met the condition (the last one seen for delete; nil if
// it never existed), or kubectl's error for a timeout.
func waitFor(ctx context.Context, dyn dynamic.Interface, info *resource.Info, cond *condition, timeout time.Duration) (*unstructured.Unstructured, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	client := info.Client(dyn)
	var last *unstructured.Unstructured
	delay := 50 * time.Millisecond
	for {
		obj, err := client.Get(ctx, info.Name, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			if cond.delete {
				return last, nil
			}
			if !cond.create {
				return nil, err
			}
		case ctx.Err() != nil:
			return nil, timedOut(info, cond, timeout)
		case err != nil:
			return nil, err
		case cond.create:
			return obj, nil
		case cond.delete:
			last = obj
		default:
			ok, err := cond.met(obj)
			if err != nil {
				return nil, err
			}
			if ok {
				return obj, nil
			}
		}
		if timeout == 0 {
			return nil, timedOut(info, cond, timeout)
		}
		select {
		case <-ctx.Done():
			return nil, timedOut(info, cond, timeout)
		case <-time.After(delay):
		}
		if delay < time.Second {
			delay *= 2
		}
	}
}

func timedOut(info *resource.Info, cond *condition, timeout time.Duration) error {
	switch {
	case cond.create:
		return errors.New("timed out waiting for the condition")
	case timeout == 0:
		return fmt.Errorf("condition not met for %s", info.ObjectName())
	}
	return fmt.Errorf("timed out waiting for the condition on %s", info.ObjectName())
}
