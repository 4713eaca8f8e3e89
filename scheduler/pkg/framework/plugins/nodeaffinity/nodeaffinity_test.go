package nodeaffinity

import (
	"context"
	"testing"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"navarch.dev/scheduler/pkg/framework"
)

func makeNode(name string, labels map[string]string) *framework.NodeInfo {
	ni := framework.NewNodeInfo()
	ni.SetNode(&v1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}})
	return ni
}

func req(key string, op v1.NodeSelectorOperator, values ...string) v1.NodeSelectorRequirement {
	return v1.NodeSelectorRequirement{Key: key, Operator: op, Values: values}
}

func required(terms ...v1.NodeSelectorTerm) *v1.Pod {
	return &v1.Pod{Spec: v1.PodSpec{Affinity: &v1.Affinity{NodeAffinity: &v1.NodeAffinity{
		RequiredDuringSchedulingIgnoredDuringExecution: &v1.NodeSelector{NodeSelectorTerms: terms}}}}}
}

func term(reqs ...v1.NodeSelectorRequirement) v1.NodeSelectorTerm {
	return v1.NodeSelectorTerm{MatchExpressions: reqs}
}

func TestFilter(t *testing.T) {
	labels := map[string]string{"zone": "a", "disk": "ssd", "cores": "8"}
	fail := framework.NewStatus(framework.UnschedulableAndUnresolvable, ErrReasonPod)
	tests := []struct {
		name string
		pod  *v1.Pod
		want *framework.Status
	}{
		{name: "nodeSelector matches", pod: &v1.Pod{Spec: v1.PodSpec{NodeSelector: map[string]string{"zone": "a"}}}},
		{name: "nodeSelector value differs", pod: &v1.Pod{Spec: v1.PodSpec{NodeSelector: map[string]string{"zone": "b"}}}, want: fail},
		{name: "nodeSelector key missing", pod: &v1.Pod{Spec: v1.PodSpec{NodeSelector: map[string]string{"gpu": "true"}}}, want: fail},
		{name: "In matches", pod: required(term(req("zone", v1.NodeSelectorOpIn, "a", "b")))},
		{name: "In no match", pod: required(term(req("zone", v1.NodeSelectorOpIn, "b", "c"))), want: fail},
		{name: "NotIn matches", pod: required(term(req("zone", v1.NodeSelectorOpNotIn, "b")))},
		{name: "NotIn no match", pod: required(term(req("zone", v1.NodeSelectorOpNotIn, "a"))), want: fail},
		{name: "NotIn on missing key matches", pod: required(term(req("gpu", v1.NodeSelectorOpNotIn, "x")))},
		{name: "Exists", pod: required(term(req("disk", v1.NodeSelectorOpExists)))},
		{name: "Exists missing", pod: required(term(req("gpu", v1.NodeSelectorOpExists))), want: fail},
		{name: "DoesNotExist", pod: required(term(req("gpu", v1.NodeSelectorOpDoesNotExist)))},
		{name: "DoesNotExist present", pod: required(term(req("disk", v1.NodeSelectorOpDoesNotExist))), want: fail},
		{name: "Gt", pod: required(term(req("cores", v1.NodeSelectorOpGt, "4")))},
		{name: "Gt equal fails", pod: required(term(req("cores", v1.NodeSelectorOpGt, "8"))), want: fail},
		{name: "Lt", pod: required(term(req("cores", v1.NodeSelectorOpLt, "16")))},
		{name: "Lt non-integer label fails", pod: required(term(req("zone", v1.NodeSelectorOpLt, "16"))), want: fail},
		{name: "requirements in a term are ANDed", pod: required(term(req("zone", v1.NodeSelectorOpIn, "a"), req("disk", v1.NodeSelectorOpIn, "hdd"))), want: fail},
		{name: "terms are ORed", pod: required(term(req("zone", v1.NodeSelectorOpIn, "b")), term(req("disk", v1.NodeSelectorOpIn, "ssd")))},
		{name: "empty term matches nothing", pod: required(v1.NodeSelectorTerm{}), want: fail},
		{name: "matchFields metadata.name", pod: required(v1.NodeSelectorTerm{MatchFields: []v1.NodeSelectorRequirement{req("metadata.name", v1.NodeSelectorOpIn, "n1")}})},
		{name: "matchFields other name", pod: required(v1.NodeSelectorTerm{MatchFields: []v1.NodeSelectorRequirement{req("metadata.name", v1.NodeSelectorOpIn, "n2")}}), want: fail},
		{name: "selector and affinity both apply", pod: func() *v1.Pod {
			p := required(term(req("zone", v1.NodeSelectorOpIn, "a")))
			p.Spec.NodeSelector = map[string]string{"disk": "hdd"}
			return p
		}(), want: fail},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var p framework.FilterPlugin = &NodeAffinity{}
			if got := p.Filter(context.Background(), nil, tt.pod, makeNode("n1", labels)); got.String() != tt.want.String() {
				t.Errorf("Filter = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestScore(t *testing.T) {
	pref := func(weight int32, reqs ...v1.NodeSelectorRequirement) v1.PreferredSchedulingTerm {
		return v1.PreferredSchedulingTerm{Weight: weight, Preference: term(reqs...)}
	}
	pod := &v1.Pod{Spec: v1.PodSpec{Affinity: &v1.Affinity{NodeAffinity: &v1.NodeAffinity{
		PreferredDuringSchedulingIgnoredDuringExecution: []v1.PreferredSchedulingTerm{
			pref(2, req("zone", v1.NodeSelectorOpIn, "a")),
			pref(8, req("disk", v1.NodeSelectorOpIn, "ssd")),
		}}}}}
	nodes := []*framework.NodeInfo{
		makeNode("none", nil),
		makeNode("zone", map[string]string{"zone": "a"}),
		makeNode("disk", map[string]string{"disk": "ssd"}),
		makeNode("both", map[string]string{"zone": "a", "disk": "ssd"}),
	}
	want := map[string]int64{"none": 0, "zone": 20, "disk": 80, "both": 100}
	p := &NodeAffinity{}
	if st := p.PreScore(context.Background(), nil, pod, nodes); !st.IsSuccess() {
		t.Fatalf("PreScore = %v", st)
	}
	var scores framework.NodeScoreList
	for _, ni := range nodes {
		s, _ := p.Score(context.Background(), nil, pod, ni)
		scores = append(scores, framework.NodeScore{Name: ni.NodeName(), Score: s})
	}
	p.ScoreExtensions().NormalizeScore(context.Background(), nil, pod, scores)
	for _, s := range scores {
		t.Run(s.Name, func(t *testing.T) {
			if s.Score != want[s.Name] {
				t.Errorf("score = %d, want %d", s.Score, want[s.Name])
			}
		})
	}
	if st := p.PreScore(context.Background(), nil, &v1.Pod{}, nodes); !st.IsSkip() {
		t.Errorf("PreScore without preferred terms = %v, want Skip", st)
	}
}
