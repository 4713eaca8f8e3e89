// Package batch describes the batch/v1 resources (Jobs, CronJobs) to the
// generic store, with upstream's defaults, selector generation and validation.
package batch

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // time zones for spec.timeZone, independent of the host

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"navarch.dev/apiserver/pkg/registry"
	"navarch.dev/apiserver/pkg/registry/core"
	"navarch.dev/apiserver/pkg/registry/metavalidation"
	"navarch.dev/apiserver/pkg/registry/typedstrategy"
)

// Labels a generated Job selector relies on; the legacy names are still set
// on pod templates for old clients.
const (
	LegacyControllerUIDLabel = "controller-uid"
	LegacyJobNameLabel       = "job-name"
)

const (
	maxParallelismForIndexedJob = 100000
	maxCronJobNameLength        = 52
)

// Resources returns the batch/v1 resources.
func Resources() []*registry.Resource {
	gv := batchv1.SchemeGroupVersion
	all := []string{"all"}
	return []*registry.Resource{
		{
			GroupVersion: gv, Plural: "jobs", Singular: "job", Kind: "Job", ListKind: "JobList", Namespaced: true,
			Categories: all,
			New:        func() runtime.Object { return &batchv1.Job{} }, NewList: func() runtime.Object { return &batchv1.JobList{} },
			Strategy: jobStrategy, Status: true, StatusStrategy: jobStrategy, Fields: jobFields,
		},
		{
			GroupVersion: gv, Plural: "cronjobs", Singular: "cronjob", Kind: "CronJob", ListKind: "CronJobList", Namespaced: true,
			ShortNames: []string{"cj"}, Categories: all,
			New: func() runtime.Object { return &batchv1.CronJob{} }, NewList: func() runtime.Object { return &batchv1.CronJobList{} },
			Strategy: cronJobStrategy, Status: true, StatusStrategy: cronJobStrategy,
		},
	}
}

func ptrTo[T any](v T) *T { return &v }

// --- jobs ------------------------------------------------------------------

var jobStrategy = typedstrategy.Funcs[*batchv1.Job]{
	Namespaced:    true,
	PrepareCreate: func(j *batchv1.Job) { j.Status = batchv1.JobStatus{} },
	Defaults:      defaultJob,
	Check: func(j *batchv1.Job) field.ErrorList {
		return validateJobSpec(&j.Spec, field.NewPath("spec"), true)
	},
	CheckCreate: validateGeneratedSelector,
	CheckUpdate: validateJobUpdate,
	CheckStatus: func(j, _ *batchv1.Job) field.ErrorList {
		var errs field.ErrorList
		p := field.NewPath("status")
		errs = append(errs, metavalidation.ValidateNonnegativeCounts(p, []metavalidation.Count{{Value: j.Status.Active, Name: "active"}, {Value: j.Status.Succeeded, Name: "succeeded"}, {Value: j.Status.Failed, Name: "failed"}})...)
		if j.Status.Ready != nil {
			errs = append(errs, metavalidation.ValidateNonnegativeField(int64(*j.Status.Ready), p.Child("ready"))...)
		}
		if j.Status.Terminating != nil {
			errs = append(errs, metavalidation.ValidateNonnegativeField(int64(*j.Status.Terminating), p.Child("terminating"))...)
		}
		return errs
	},
}

// defaultJob applies upstream's Job defaults (completions and parallelism 1
// when both are unset, backoffLimit 6, completionMode NonIndexed, suspend
// false, podReplacementPolicy) and, unless manualSelector is true, generates
// the selector from the Job's UID: the template gets the controller-uid and
// job-name labels (new and legacy names) and the selector matches
// batch.kubernetes.io/controller-uid. The Job's own labels default to the
// template's.
func defaultJob(j *batchv1.Job) {
	spec := &j.Spec
	if spec.Completions == nil && spec.Parallelism == nil {
		spec.Completions = ptrTo(int32(1))
		spec.Parallelism = ptrTo(int32(1))
	}
	if spec.Parallelism == nil {
		spec.Parallelism = ptrTo(int32(1))
	}
	if spec.BackoffLimit == nil {
		if spec.BackoffLimitPerIndex != nil {
			spec.BackoffLimit = ptrTo(int32(math.MaxInt32))
		} else {
			spec.BackoffLimit = ptrTo(int32(6))
		}
	}
	if spec.CompletionMode == nil {
		spec.CompletionMode = ptrTo(batchv1.NonIndexedCompletion)
	}
	if spec.Suspend == nil {
		spec.Suspend = ptrTo(false)
	}
	if pfp := spec.PodFailurePolicy; pfp != nil {
		for i := range pfp.Rules {
			for k := range pfp.Rules[i].OnPodConditions {
				if c := &pfp.Rules[i].OnPodConditions[k]; c.Status == "" {
					c.Status = corev1.ConditionTrue
				}
			}
		}
	}
	if spec.PodReplacementPolicy == nil {
		if spec.PodFailurePolicy != nil {
			spec.PodReplacementPolicy = ptrTo(batchv1.Failed)
		} else {
			spec.PodReplacementPolicy = ptrTo(batchv1.TerminatingOrFailed)
		}
	}
	core.DefaultPodTemplateSpec(&spec.Template)
	if (spec.ManualSelector == nil || !*spec.ManualSelector) && j.UID != "" {
		generateSelector(j)
	}
	if len(j.Labels) == 0 && spec.Template.Labels != nil {
		j.Labels = map[string]string{}
		for k, v := range spec.Template.Labels {
			j.Labels[k] = v
		}
	}
}

// generateSelector labels the pod template with the Job's name and UID (keeping
// labels the user set, which validation then checks) and selects on the UID.
func generateSelector(j *batchv1.Job) {
	t := &j.Spec.Template
	if t.Labels == nil {
		t.Labels = map[string]string{}
	}
	for _, k := range []string{LegacyJobNameLabel, batchv1.JobNameLabel} {
		if _, ok := t.Labels[k]; !ok {
			t.Labels[k] = j.Name
		}
	}
	for _, k := range []string{LegacyControllerUIDLabel, batchv1.ControllerUidLabel} {
		if _, ok := t.Labels[k]; !ok {
			t.Labels[k] = string(j.UID)
		}
	}
	if j.Spec.Selector == nil {
		j.Spec.Selector = &metav1.LabelSelector{}
	}
	if j.Spec.Selector.MatchLabels == nil {
		j.Spec.Selector.MatchLabels = map[string]string{}
	}
	if _, ok := j.Spec.Selector.MatchLabels[batchv1.ControllerUidLabel]; !ok {
		j.Spec.Selector.MatchLabels[batchv1.ControllerUidLabel] = string(j.UID)
	}
}

// validateGeneratedSelector checks, for Jobs without manualSelector, that the
// generated labels are on the template with the Job's values and that the
// selector is exactly the generated one.
func validateGeneratedSelector(j *batchv1.Job) field.ErrorList {
	if (j.Spec.ManualSelector != nil && *j.Spec.ManualSelector) || j.Spec.Template.Labels == nil {
		return nil
	}
	var errs field.ErrorList
	if j.UID == "" {
		errs = append(errs, field.Required(field.NewPath("metadata", "uid"), ""))
	}
	metaPath := field.NewPath("spec", "template", "metadata")
	for _, l := range []struct{ key, want string }{
		{LegacyControllerUIDLabel, string(j.UID)}, {LegacyJobNameLabel, j.Name},
		{batchv1.ControllerUidLabel, string(j.UID)}, {batchv1.JobNameLabel, j.Name},
	} {
		got, ok := j.Spec.Template.Labels[l.key]
		switch {
		case !ok:
			errs = append(errs, field.Required(metaPath.Child("labels").Key(l.key), l.want))
		case got != l.want:
			errs = append(errs, field.Invalid(metaPath.Child("labels").Key(l.key), j.Spec.Template.Labels, "must be '"+l.want+"'"))
		}
	}
	want := &metav1.LabelSelector{MatchLabels: map[string]string{batchv1.ControllerUidLabel: string(j.UID)}}
	if !equality.Semantic.DeepEqual(j.Spec.Selector, want) {
		errs = append(errs, field.Invalid(field.NewPath("spec", "selector"), j.Spec.Selector, "`selector` not auto-generated"))
	}
	return errs
}

// validateJobSpec validates a job spec; withSelector is false for CronJob job
// templates, whose selector is generated per Job.
func validateJobSpec(spec *batchv1.JobSpec, fldPath *field.Path, withSelector bool) field.ErrorList {
	var errs field.ErrorList
	nonNeg := func(v *int32, name string) {
		if v != nil {
			errs = append(errs, metavalidation.ValidateNonnegativeField(int64(*v), fldPath.Child(name))...)
		}
	}
	nonNeg(spec.Parallelism, "parallelism")
	nonNeg(spec.Completions, "completions")
	nonNeg(spec.BackoffLimit, "backoffLimit")
	nonNeg(spec.TTLSecondsAfterFinished, "ttlSecondsAfterFinished")
	nonNeg(spec.BackoffLimitPerIndex, "backoffLimitPerIndex")
	nonNeg(spec.MaxFailedIndexes, "maxFailedIndexes")
	if spec.ActiveDeadlineSeconds != nil {
		errs = append(errs, metavalidation.ValidateNonnegativeField(*spec.ActiveDeadlineSeconds, fldPath.Child("activeDeadlineSeconds"))...)
	}
	indexed := spec.CompletionMode != nil && *spec.CompletionMode == batchv1.IndexedCompletion
	if m := spec.CompletionMode; m != nil {
		valid := []batchv1.CompletionMode{batchv1.NonIndexedCompletion, batchv1.IndexedCompletion}
		if *m != valid[0] && *m != valid[1] {
			errs = append(errs, field.NotSupported(fldPath.Child("completionMode"), *m, valid))
		}
		if indexed {
			if spec.Completions == nil {
				errs = append(errs, field.Required(fldPath.Child("completions"), fmt.Sprintf("when completion mode is %s", batchv1.IndexedCompletion)))
			}
			if spec.Parallelism != nil && *spec.Parallelism > maxParallelismForIndexedJob {
				errs = append(errs, field.Invalid(fldPath.Child("parallelism"), *spec.Parallelism,
					fmt.Sprintf("must be less than or equal to %d when completion mode is %s", maxParallelismForIndexedJob, batchv1.IndexedCompletion)))
			}
		}
	}
	if spec.BackoffLimitPerIndex != nil && !indexed {
		errs = append(errs, field.Forbidden(fldPath.Child("backoffLimitPerIndex"), "requires indexed completion mode"))
	}
	if spec.MaxFailedIndexes != nil && spec.BackoffLimitPerIndex == nil {
		errs = append(errs, field.Required(fldPath.Child("backoffLimitPerIndex"), "when maxFailedIndexes is specified"))
	}
	if p := spec.PodReplacementPolicy; p != nil {
		valid := []batchv1.PodReplacementPolicy{batchv1.Failed, batchv1.TerminatingOrFailed}
		switch {
		case *p != valid[0] && *p != valid[1]:
			errs = append(errs, field.NotSupported(fldPath.Child("podReplacementPolicy"), *p, valid))
		case spec.PodFailurePolicy != nil && *p != batchv1.Failed:
			errs = append(errs, field.NotSupported(fldPath.Child("podReplacementPolicy"), *p, []batchv1.PodReplacementPolicy{batchv1.Failed}))
		}
	}
	if withSelector {
		if spec.Selector == nil {
			errs = append(errs, field.Required(fldPath.Child("selector"), ""))
		} else {
			errs = append(errs, metavalidation.ValidateLabelSelector(spec.Selector, fldPath.Child("selector"))...)
			if sel, err := metav1.LabelSelectorAsSelector(spec.Selector); err == nil {
				if spec.Template.Labels == nil || !sel.Matches(labels.Set(spec.Template.Labels)) {
					errs = append(errs, field.Invalid(fldPath.Child("template", "metadata", "labels"), spec.Template.Labels, "`selector` does not match template `labels`"))
				}
			}
		}
	}
	errs = append(errs, core.ValidatePodTemplateSpec(&spec.Template, fldPath.Child("template"))...)
	rp := spec.Template.Spec.RestartPolicy
	if rp != corev1.RestartPolicyOnFailure && rp != corev1.RestartPolicyNever {
		errs = append(errs, field.NotSupported(fldPath.Child("template", "spec", "restartPolicy"), rp,
			[]corev1.RestartPolicy{corev1.RestartPolicyOnFailure, corev1.RestartPolicyNever}))
	} else if spec.PodFailurePolicy != nil && rp != corev1.RestartPolicyNever {
		errs = append(errs, field.Invalid(fldPath.Child("template", "spec", "restartPolicy"), rp,
			fmt.Sprintf("only %q is supported when podFailurePolicy is specified", corev1.RestartPolicyNever)))
	}
	return errs
}

// validateJobUpdate keeps the selector, completion mode and policies fixed;
// completions may change only for Indexed Jobs scaled with completions equal
// to parallelism, and the pod template only in its scheduling directives
// while the Job is suspended.
func validateJobUpdate(j, old *batchv1.Job) field.ErrorList {
	var errs field.ErrorList
	p := field.NewPath("spec")
	spec, oldSpec := &j.Spec, &old.Spec
	elastic := spec.CompletionMode != nil && *spec.CompletionMode == batchv1.IndexedCompletion &&
		spec.Completions != nil && spec.Parallelism != nil && *spec.Completions == *spec.Parallelism &&
		oldSpec.Completions != nil && oldSpec.Parallelism != nil && *oldSpec.Completions == *oldSpec.Parallelism
	if !elastic {
		errs = append(errs, metavalidation.ValidateImmutableField(spec.Completions, oldSpec.Completions, p.Child("completions"))...)
	}
	errs = append(errs, metavalidation.ValidateImmutableField(spec.Selector, oldSpec.Selector, p.Child("selector"))...)
	errs = append(errs, metavalidation.ValidateImmutableField(spec.CompletionMode, oldSpec.CompletionMode, p.Child("completionMode"))...)
	errs = append(errs, metavalidation.ValidateImmutableField(spec.PodFailurePolicy, oldSpec.PodFailurePolicy, p.Child("podFailurePolicy"))...)
	errs = append(errs, metavalidation.ValidateImmutableField(spec.BackoffLimitPerIndex, oldSpec.BackoffLimitPerIndex, p.Child("backoffLimitPerIndex"))...)
	errs = append(errs, metavalidation.ValidateImmutableField(spec.ManagedBy, oldSpec.ManagedBy, p.Child("managedBy"))...)
	errs = append(errs, metavalidation.ValidateImmutableField(spec.SuccessPolicy, oldSpec.SuccessPolicy, p.Child("successPolicy"))...)
	errs = append(errs, metavalidation.ValidateImmutableField(spec.PodReplacementPolicy, oldSpec.PodReplacementPolicy, p.Child("podReplacementPolicy"))...)

	oldTemplate := oldSpec.Template.DeepCopy()
	suspended := oldSpec.Suspend != nil && *oldSpec.Suspend && old.Status.StartTime == nil
	if suspended {
		t := &spec.Template
		oldTemplate.Labels, oldTemplate.Annotations = t.Labels, t.Annotations
		oldTemplate.Spec.NodeSelector, oldTemplate.Spec.Tolerations = t.Spec.NodeSelector, t.Spec.Tolerations
		oldTemplate.Spec.Affinity, oldTemplate.Spec.SchedulingGates = t.Spec.Affinity, t.Spec.SchedulingGates
	}
	errs = append(errs, metavalidation.ValidateImmutableField(&spec.Template, oldTemplate, p.Child("template"))...)
	return errs
}

func jobFields(obj runtime.Object) fields.Set {
	if j, ok := obj.(*batchv1.Job); ok {
		return fields.Set{"status.successful": strconv.FormatInt(int64(j.Status.Succeeded), 10)}
	}
	return nil
}

// --- cronjobs --------------------------------------------------------------

var cronJobStrategy = typedstrategy.Funcs[*batchv1.CronJob]{
	Namespaced:    true,
	PrepareCreate: func(cj *batchv1.CronJob) { cj.Status = batchv1.CronJobStatus{} },
	Defaults:      defaultCronJob,
	CheckCreate: func(cj *batchv1.CronJob) field.ErrorList {
		errs := validateCronJobSpec(&cj.Spec, nil, field.NewPath("spec"))
		if len(cj.Name) > maxCronJobNameLength {
			// The controller appends an 11-character suffix to name Jobs.
			errs = append(errs, field.Invalid(field.NewPath("metadata", "name"), cj.Name, fmt.Sprintf("must be no more than %d characters", maxCronJobNameLength)))
		}
		return errs
	},
	CheckUpdate: func(cj, old *batchv1.CronJob) field.ErrorList {
		return validateCronJobSpec(&cj.Spec, &old.Spec, field.NewPath("spec"))
	},
}

// defaultCronJob applies concurrencyPolicy Allow, suspend false, history
// limits 3 (successful) and 1 (failed), and the pod template defaults.
func defaultCronJob(cj *batchv1.CronJob) {
	spec := &cj.Spec
	if spec.ConcurrencyPolicy == "" {
		spec.ConcurrencyPolicy = batchv1.AllowConcurrent
	}
	if spec.Suspend == nil {
		spec.Suspend = ptrTo(false)
	}
	if spec.SuccessfulJobsHistoryLimit == nil {
		spec.SuccessfulJobsHistoryLimit = ptrTo(int32(3))
	}
	if spec.FailedJobsHistoryLimit == nil {
		spec.FailedJobsHistoryLimit = ptrTo(int32(1))
	}
	core.DefaultPodTemplateSpec(&spec.JobTemplate.Spec.Template)
}

var validTimeZoneCharacters = regexp.MustCompile(`^[A-Za-z\.\-_0-9+]{1,14}$`)

func validateCronJobSpec(spec, oldSpec *batchv1.CronJobSpec, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	sp := fldPath.Child("schedule")
	if spec.Schedule == "" {
		errs = append(errs, field.Required(sp, ""))
	} else {
		if err := checkCronSchedule(spec.Schedule); err != nil {
			errs = append(errs, field.Invalid(sp, spec.Schedule, err.Error()))
		}
		allowTZ := oldSpec != nil && strings.Contains(oldSpec.Schedule, "TZ")
		switch {
		case allowTZ && strings.Contains(spec.Schedule, "TZ") && spec.TimeZone != nil:
			errs = append(errs, field.Invalid(sp, spec.Schedule, "cannot use both timeZone field and TZ or CRON_TZ in schedule"))
		case !allowTZ && strings.Contains(spec.Schedule, "TZ"):
			errs = append(errs, field.Invalid(sp, spec.Schedule, "cannot use TZ or CRON_TZ in schedule, use timeZone field instead"))
		}
	}
	if spec.StartingDeadlineSeconds != nil {
		errs = append(errs, metavalidation.ValidateNonnegativeField(*spec.StartingDeadlineSeconds, fldPath.Child("startingDeadlineSeconds"))...)
	}
	if oldSpec == nil || !equality.Semantic.DeepEqual(oldSpec.TimeZone, spec.TimeZone) {
		errs = append(errs, validateTimeZone(spec.TimeZone, fldPath.Child("timeZone"))...)
	}
	cp := fldPath.Child("concurrencyPolicy")
	valid := []batchv1.ConcurrencyPolicy{batchv1.AllowConcurrent, batchv1.ForbidConcurrent, batchv1.ReplaceConcurrent}
	switch spec.ConcurrencyPolicy {
	case "":
		errs = append(errs, field.Required(cp, ""))
	case valid[0], valid[1], valid[2]:
	default:
		errs = append(errs, field.NotSupported(cp, spec.ConcurrencyPolicy, valid))
	}
	jt := fldPath.Child("jobTemplate")
	errs = append(errs, metavalidation.ValidateLabels(spec.JobTemplate.Labels, jt.Child("metadata", "labels"))...)
	errs = append(errs, validateJobSpec(&spec.JobTemplate.Spec, jt.Child("spec"), false)...)
	if spec.JobTemplate.Spec.Selector != nil {
		errs = append(errs, field.Invalid(jt.Child("spec", "selector"), spec.JobTemplate.Spec.Selector, "`selector` will be auto-generated"))
	}
	if m := spec.JobTemplate.Spec.ManualSelector; m != nil && *m {
		errs = append(errs, field.NotSupported(jt.Child("spec", "manualSelector"), *m, []string{"nil", "false"}))
	}
	if spec.SuccessfulJobsHistoryLimit != nil {
		errs = append(errs, metavalidation.ValidateNonnegativeField(int64(*spec.SuccessfulJobsHistoryLimit), fldPath.Child("successfulJobsHistoryLimit"))...)
	}
	if spec.FailedJobsHistoryLimit != nil {
		errs = append(errs, metavalidation.ValidateNonnegativeField(int64(*spec.FailedJobsHistoryLimit), fldPath.Child("failedJobsHistoryLimit"))...)
	}
	return errs
}

func validateTimeZone(tz *string, fldPath *field.Path) field.ErrorList {
	if tz == nil {
		return nil
	}
	if *tz == "" {
		return field.ErrorList{field.Invalid(fldPath, *tz, "timeZone must be nil or non-empty string")}
	}
	for _, part := range strings.Split(*tz, "/") {
		if part == "." || part == ".." || strings.HasPrefix(part, "-") || !validTimeZoneCharacters.MatchString(part) {
			return field.ErrorList{field.Invalid(fldPath, *tz, fmt.Sprintf("unknown time zone %s", *tz))}
		}
	}
	if strings.EqualFold(*tz, "Local") {
		return field.ErrorList{field.Invalid(fldPath, *tz, "timeZone must be an explicit time zone as defined in https://www.iana.org/time-zones")}
	}
	if _, err := time.LoadLocation(*tz); err != nil {
		return field.ErrorList{field.Invalid(fldPath, *tz, err.Error())}
	}
	return nil
}
