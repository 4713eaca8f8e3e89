package podworker

import (
	"context"
	"log/slog"
	"sort"
	"strings"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// podRecord is what one relist saw of a pod: its key and a fingerprint of
// its sandboxes' and containers' ids and states.
type podRecord struct {
	key         string
	fingerprint string
}

// relist is the pod lifecycle event generator: it lists every sandbox and
// container of this node once and enqueues the pods whose sandboxes or
// containers changed since the previous relist (a container exited, a
// sandbox died, something appeared or went). It replaces syncing every pod
// every second: a pod is synced when something about it changed. It returns
// what it saw, for the next relist (last on failure).
func (w *Worker) relist(ctx context.Context, last map[string]podRecord) map[string]podRecord {
	sbs, err := w.rt.ListPodSandbox(ctx, nil)
	if err != nil {
		if ctx.Err() == nil {
			slog.Warn("relist: list sandboxes", "err", err)
		}
		return last
	}
	ctrs, err := w.rt.ListContainers(ctx, "", nil)
	if err != nil {
		if ctx.Err() == nil {
			slog.Warn("relist: list containers", "err", err)
		}
		return last
	}
	parts := map[string][]string{}
	keys := map[string]string{}
	for _, sb := range sbs {
		uid := sb.Labels[LabelPodUID]
		if n := sb.Labels[LabelNode]; uid == "" || (n != "" && n != w.cfg.NodeName) {
			continue
		}
		keys[uid] = sb.Labels[LabelPodNamespace] + "/" + sb.Labels[LabelPodName]
		parts[uid] = append(parts[uid], "s"+sb.Id+"="+runtimeapi.PodSandboxState_name[int32(sb.State)])
	}
	for _, c := range ctrs {
		uid := c.Labels[LabelPodUID]
		if _, ours := keys[uid]; !ours {
			continue
		}
		parts[uid] = append(parts[uid], "c"+c.Id+"="+runtimeapi.ContainerState_name[int32(c.State)])
	}
	cur := make(map[string]podRecord, len(keys))
	for uid, k := range keys {
		p := parts[uid]
		sort.Strings(p)
		cur[uid] = podRecord{key: k, fingerprint: strings.Join(p, ",")}
	}
	if last == nil {
		// The first relist only learns what there is: Run enqueues every
		// pod anyway.
		return cur
	}
	for uid, r := range cur {
		if last[uid] != r {
			w.queue.Add(r.key)
		}
	}
	for uid, r := range last {
		if _, ok := cur[uid]; !ok {
			w.queue.Add(r.key)
		}
	}
	return cur
}
