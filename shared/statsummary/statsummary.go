// Package statsummary holds the kubelet's /stats/summary wire types, with
// the JSON field names of upstream's stats/v1alpha1 Summary (the parts
// Navarch fills): the kubelet serves them and the apiserver's resource
// metrics read them.
package statsummary

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// Summary is /stats/summary, with the JSON field names of upstream's
// stats/v1alpha1 Summary (the parts Navarch fills).
type Summary struct {
	Node NodeStats  `json:"node"`
	Pods []PodStats `json:"pods"`
}

// NodeStats are the node's usage.
type NodeStats struct {
	NodeName  string        `json:"nodeName"`
	StartTime metav1.Time   `json:"startTime"`
	CPU       *CPUStats     `json:"cpu,omitempty"`
	Memory    *MemoryStats  `json:"memory,omitempty"`
	Fs        *FsStats      `json:"fs,omitempty"`
	Runtime   *RuntimeStats `json:"runtime,omitempty"`
	// Rlimit is the node's limit on and use of process IDs.
	Rlimit *RlimitStats `json:"rlimit,omitempty"`
}

// RlimitStats are the node's process limit and count, as upstream reports
// them: MaxPID is the smaller of kernel.pid_max and kernel.threads-max
// (both limit the number of tasks), NumOfRunningProcesses the number of
// tasks (threads) that exist now.
type RlimitStats struct {
	Time                  metav1.Time `json:"time"`
	MaxPID                *int64      `json:"maxpid,omitempty"`
	NumOfRunningProcesses *int64      `json:"curproc,omitempty"`
}

// ProcessStats are a pod's processes.
type ProcessStats struct {
	// ProcessCount is the number of processes its containers run.
	ProcessCount *uint64 `json:"process_count,omitempty"`
}

// RuntimeStats are the container runtime's filesystems.
type RuntimeStats struct {
	ImageFs *FsStats `json:"imageFs,omitempty"`
}

// PodReference names a pod.
type PodReference struct {
	Name      string `json:"name"`
	Namespace string `json:"namespace"`
	UID       string `json:"uid"`
}

// PodStats are a pod's usage, the sum of its containers'.
type PodStats struct {
	PodRef     PodReference     `json:"podRef"`
	StartTime  metav1.Time      `json:"startTime"`
	Containers []ContainerStats `json:"containers"`
	CPU        *CPUStats        `json:"cpu,omitempty"`
	Memory     *MemoryStats     `json:"memory,omitempty"`
	// EphemeralStorage is what the pod writes to the node's disk: its
	// containers' writable layers and logs.
	EphemeralStorage *FsStats `json:"ephemeral-storage,omitempty"`
	// ProcessStats count the processes of the pod's containers (not its
	// sandbox), as upstream does.
	ProcessStats *ProcessStats `json:"process_stats,omitempty"`
}

// ContainerStats are one container's usage.
type ContainerStats struct {
	Name      string       `json:"name"`
	StartTime metav1.Time  `json:"startTime"`
	CPU       *CPUStats    `json:"cpu,omitempty"`
	Memory    *MemoryStats `json:"memory,omitempty"`
	Rootfs    *FsStats     `json:"rootfs,omitempty"`
}

// CPUStats: usageNanoCores is the recent rate, usageCoreNanoSeconds the total.
type CPUStats struct {
	Time                 metav1.Time `json:"time"`
	UsageNanoCores       *uint64     `json:"usageNanoCores,omitempty"`
	UsageCoreNanoSeconds *uint64     `json:"usageCoreNanoSeconds,omitempty"`
}

// MemoryStats are in bytes.
type MemoryStats struct {
	Time            metav1.Time `json:"time"`
	AvailableBytes  *uint64     `json:"availableBytes,omitempty"`
	UsageBytes      *uint64     `json:"usageBytes,omitempty"`
	WorkingSetBytes *uint64     `json:"workingSetBytes,omitempty"`
}

// FsStats are in bytes and inodes.
type FsStats struct {
	Time           metav1.Time `json:"time"`
	AvailableBytes *uint64     `json:"availableBytes,omitempty"`
	CapacityBytes  *uint64     `json:"capacityBytes,omitempty"`
	UsedBytes      *uint64     `json:"usedBytes,omitempty"`
	InodesFree     *uint64     `json:"inodesFree,omitempty"`
	Inodes         *uint64     `json:"inodes,omitempty"`
	InodesUsed     *uint64     `json:"inodesUsed,omitempty"`
}
