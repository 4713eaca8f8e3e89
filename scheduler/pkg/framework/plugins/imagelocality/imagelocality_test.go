package imagelocality

import (
	"testing"

	v1 "k8s.io/api/core/v1"

	"navarch.dev/scheduler/pkg/framework"
)

func makeNode(images map[string]framework.ImageStateSummary) *framework.NodeInfo {
	ni := framework.NewNodeInfo()
	ni.SetNode(&v1.Node{})
	for name, st := range images {
		st := st
		ni.ImageStates[name] = &st
	}
	return ni
}

func makePod(images ...string) *v1.Pod {
	p := &v1.Pod{}
	for _, img := range images {
		p.Spec.Containers = append(p.Spec.Containers, v1.Container{Image: img})
	}
	return p
}

func TestScore(t *testing.T) {
	tests := []struct {
		name  string
		pod   *v1.Pod
		node  *framework.NodeInfo
		total int
		want  int64
	}{
		{name: "image absent", pod: makePod("app:v1"), node: makeNode(nil), total: 1, want: 0},
		{name: "small image counts nothing", pod: makePod("app:v1"), node: makeNode(map[string]framework.ImageStateSummary{"app:v1": {Size: 10 * mb, NumNodes: 1}}), total: 1, want: 0},
		{name: "500MB image on the only node", pod: makePod("app:v1"), node: makeNode(map[string]framework.ImageStateSummary{"app:v1": {Size: 500 * mb, NumNodes: 1}}), total: 1,
			want: 100 * (500 - 23) / (1000 - 23)},
		{name: "spread damps", pod: makePod("app:v1"), node: makeNode(map[string]framework.ImageStateSummary{"app:v1": {Size: 500 * mb, NumNodes: 1}}), total: 2,
			want: 100 * (250 - 23) / (1000 - 23)},
		{name: "untagged means latest", pod: makePod("app"), node: makeNode(map[string]framework.ImageStateSummary{"app:latest": {Size: 2000 * mb, NumNodes: 1}}), total: 1, want: 100},
		{name: "saturates per container", pod: makePod("a:1", "b:1"), node: makeNode(map[string]framework.ImageStateSummary{"a:1": {Size: 1000 * mb, NumNodes: 1}}), total: 1,
			want: 100 * (1000 - 23) / (2000 - 23)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ScoreFor(tt.pod, tt.node, tt.total); got != tt.want {
				t.Errorf("score = %d, want %d", got, tt.want)
			}
		})
	}
}
