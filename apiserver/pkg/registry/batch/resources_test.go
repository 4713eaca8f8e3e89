package batch

import (
	"testing"

	"navarch.dev/apiserver/pkg/registry/resourcetest"
)

func TestResources(t *testing.T) {
	all := []string{"all"}
	resourcetest.Check(t, Resources(), []resourcetest.Want{
		{GroupVersion: "batch/v1", Plural: "jobs", Singular: "job", Kind: "Job", ListKind: "JobList", Namespaced: true, Categories: all, Status: true},
		{GroupVersion: "batch/v1", Plural: "cronjobs", Singular: "cronjob", Kind: "CronJob", ListKind: "CronJobList", Namespaced: true, ShortNames: []string{"cj"}, Categories: all, Status: true},
	})
}
