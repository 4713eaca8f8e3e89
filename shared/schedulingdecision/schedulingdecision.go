// Package schedulingdecision holds what the scheduler serves on
// /debug/decisions and announces on its Lease, and what navctl reads: the
// wire types both sides share.
package schedulingdecision

import "time"

// EndpointAnnotation is the annotation the leading scheduler sets on its
// leader-election Lease (by default kube-system/kube-scheduler) so that
// clients such as navctl can find where decisions are served. Its value is
// an Endpoint in JSON. Only the current leader schedules, so a client
// trusts the annotation only when its HolderIdentity equals the Lease's
// spec.holderIdentity; a stale one (the leader changed and the new one has
// not written its own yet, or runs without this feature) is ignored.
const EndpointAnnotation = "scheduler.navarch.dev/endpoint"

// Endpoint says where a scheduler serves /debug/decisions.
type Endpoint struct {
	// HolderIdentity is the leader-election identity of the scheduler that
	// wrote the annotation.
	HolderIdentity string `json:"holderIdentity"`
	// URL is the base URL of the scheduler's HTTP port, e.g.
	// "http://10.0.0.5:10251".
	URL string `json:"url"`
	// SchedulerNames are the profiles the scheduler serves (the pods'
	// spec.schedulerName values).
	SchedulerNames []string `json:"schedulerNames"`
}

// Results of a decision.
const (
	Scheduled     = "Scheduled"
	Unschedulable = "Unschedulable"
	Error         = "Error"
)

// Decision is one scheduling attempt of one pod.
type Decision struct {
	Namespace     string    `json:"namespace"`
	Pod           string    `json:"pod"`
	UID           string    `json:"uid"`
	SchedulerName string    `json:"schedulerName"`
	Time          time.Time `json:"time"`
	Attempt       int       `json:"attempt"`
	// Result is Scheduled, Unschedulable or Error.
	Result string `json:"result"`
	// Node is the winner (Scheduled only).
	Node string `json:"node,omitempty"`
	// NominatedNode is where preemption made room.
	NominatedNode string `json:"nominatedNode,omitempty"`
	// Message is the event text: "Successfully assigned ..." or the
	// "0/N nodes are available: ..." summary.
	Message string `json:"message"`
	// NumNodes is the cluster size, Evaluated the nodes filtered (fewer at
	// scale, see percentageOfNodesToScore), Feasible those that passed.
	NumNodes  int `json:"numNodes"`
	Evaluated int `json:"evaluated"`
	Feasible  int `json:"feasible"`
	// ScorePlugins name the columns of NodeVerdict.Scores.
	ScorePlugins []string      `json:"scorePlugins,omitempty"`
	Nodes        []NodeVerdict `json:"nodes,omitempty"`
}

// NodeVerdict is one node's part in a decision.
type NodeVerdict struct {
	Node string `json:"node"`
	// Passed is true when every filter accepted the node.
	Passed bool `json:"passed"`
	// Plugin and Reasons say which filter rejected the node and why.
	Plugin  string   `json:"plugin,omitempty"`
	Reasons []string `json:"reasons,omitempty"`
	// Scores are weighted, per ScorePlugins; Total is their sum.
	Scores []int64 `json:"scores,omitempty"`
	Total  int64   `json:"total"`
	// Scored is false for nodes that passed but were not scored (a single
	// feasible node is chosen without scoring).
	Scored bool `json:"scored"`
}
