package server

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strconv"
	"time"

	v1 "k8s.io/api/core/v1"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// Labels the pod worker puts on containers (upstream's names).
const (
	labelPodUID        = "io.kubernetes.pod.uid"
	labelContainerName = "io.kubernetes.container.name"
)

// findPod returns this node's pod ns/name.
func (s *Server) findPod(ns, name string) (*v1.Pod, error) {
	for _, p := range s.pods() {
		if p.Namespace == ns && p.Name == name {
			return p, nil
		}
	}
	return nil, errorf(http.StatusNotFound, "pod %s/%s not found on this node", ns, name)
}

// containers returns the runtime's instances of a pod's container, newest
// attempt first.
func (s *Server) containers(ctx context.Context, pod *v1.Pod, name string) ([]*runtimeapi.Container, error) {
	resp, err := s.rt.ListContainers(ctx, &runtimeapi.ListContainersRequest{Filter: &runtimeapi.ContainerFilter{
		LabelSelector: map[string]string{labelPodUID: string(pod.UID), labelContainerName: name},
	}})
	if err != nil {
		return nil, fmt.Errorf("list containers: %w", err)
	}
	cs := resp.Containers
	sort.Slice(cs, func(i, j int) bool {
		a, b := cs[i].GetMetadata().GetAttempt(), cs[j].GetMetadata().GetAttempt()
		if a != b {
			return a > b
		}
		return cs[i].CreatedAt > cs[j].CreatedAt
	})
	return cs, nil
}

// current returns the newest instance of the container.
func (s *Server) current(ctx context.Context, ns, podName, name string) (*v1.Pod, *runtimeapi.Container, error) {
	pod, err := s.findPod(ns, podName)
	if err != nil {
		return nil, nil, err
	}
	cs, err := s.containers(ctx, pod, name)
	if err != nil {
		return nil, nil, err
	}
	if len(cs) == 0 {
		return nil, nil, errorf(http.StatusBadRequest, "container %q in pod %q is not available", name, podName)
	}
	return pod, cs[0], nil
}

// logOptions are the query parameters of /containerLogs.
type logOptions struct {
	follow     bool
	previous   bool
	timestamps bool
	tail       int64 // <0: all
	since      time.Time
	limitBytes int64 // 0: no limit
}

func parseLogOptions(r *http.Request) (logOptions, error) {
	q := r.URL.Query()
	o := logOptions{tail: -1}
	var err error
	boolean := func(name string) bool {
		if err != nil || q.Get(name) == "" {
			return false
		}
		v, e := strconv.ParseBool(q.Get(name))
		if e != nil {
			err = errorf(http.StatusBadRequest, "%s: %v", name, e)
		}
		return v
	}
	integer := func(name string) (int64, bool) {
		if err != nil || q.Get(name) == "" {
			return 0, false
		}
		v, e := strconv.ParseInt(q.Get(name), 10, 64)
		if e != nil || v < 0 {
			err = errorf(http.StatusBadRequest, "%s: %q is not a non-negative integer", name, q.Get(name))
		}
		return v, true
	}
	o.follow, o.previous, o.timestamps = boolean("follow"), boolean("previous"), boolean("timestamps")
	if v, ok := integer("tailLines"); ok {
		o.tail = v
	}
	if v, ok := integer("sinceSeconds"); ok {
		o.since = time.Now().Add(-time.Duration(v) * time.Second)
	}
	if v := q.Get("sinceTime"); v != "" && err == nil {
		t, e := time.Parse(time.RFC3339, v)
		if e != nil {
			return o, errorf(http.StatusBadRequest, "sinceTime: %v", e)
		}
		o.since = t
	}
	if v, ok := integer("limitBytes"); ok {
		o.limitBytes = v
	}
	return o, err
}

// serveLogs streams a container's log (GET /containerLogs/<ns>/<pod>/<container>).
func (s *Server) serveLogs(w http.ResponseWriter, r *http.Request) {
	if err := s.logs(w, r); err != nil {
		writeError(w, err)
	}
}

func (s *Server) logs(w http.ResponseWriter, r *http.Request) error {
	opts, err := parseLogOptions(r)
	if err != nil {
		return err
	}
	ns, podName, name := r.PathValue("ns"), r.PathValue("pod"), r.PathValue("container")
	pod, err := s.findPod(ns, podName)
	if err != nil {
		return err
	}
	ctx := r.Context()
	cs, err := s.containers(ctx, pod, name)
	if err != nil {
		return err
	}
	idx := 0
	if opts.previous {
		idx = 1
	}
	if len(cs) <= idx {
		if opts.previous {
			return errorf(http.StatusBadRequest, "previous terminated container %q in pod %q not found", name, podName)
		}
		return errorf(http.StatusBadRequest, "container %q in pod %q is waiting to start", name, podName)
	}
	id := cs[idx].Id
	st, err := s.rt.ContainerStatus(ctx, &runtimeapi.ContainerStatusRequest{ContainerId: id})
	if err != nil {
		return fmt.Errorf("container status: %w", err)
	}
	f, err := os.Open(st.Status.GetLogPath())
	if err != nil {
		return errorf(http.StatusNotFound, "log of container %q in pod %q: %v", name, podName, err)
	}
	defer f.Close()
	w.Header().Set("Content-Type", "text/plain")
	w.WriteHeader(http.StatusOK)
	running := func() bool {
		st, err := s.rt.ContainerStatus(ctx, &runtimeapi.ContainerStatusRequest{ContainerId: id})
		return err == nil && st.Status.GetState() == runtimeapi.ContainerState_CONTAINER_RUNNING
	}
	if !opts.follow || idx > 0 {
		running = nil
	}
	return copyLogs(ctx, w, f, opts, running)
}

// copyLogs writes the CRI log in f to w as the user reads it. With running
// non-nil it follows the file while running reports true.
func copyLogs(ctx context.Context, w io.Writer, f io.Reader, opts logOptions, running func() bool) error {
	lw := &logWriter{w: w, opts: opts, remaining: opts.limitBytes}
	br := bufio.NewReaderSize(f, 64*1024)
	if opts.tail >= 0 {
		// Keep the messages of the last tail lines, then write them.
		var kept []logMessage
		lines := int64(0)
		for {
			line, err := br.ReadBytes('\n')
			if len(line) > 0 && line[len(line)-1] == '\n' {
				if m, ok := parseCRILine(line); ok && lw.wanted(m) {
					kept = append(kept, m)
					if !m.partial {
						lines++
					}
					for lines > opts.tail && len(kept) > 0 {
						if !kept[0].partial {
							lines--
						}
						kept = kept[1:]
					}
				}
			} else if len(line) > 0 {
				// A line still being written: read it again when following.
				br = bufio.NewReaderSize(io.MultiReader(bytes.NewReader(line), f), 64*1024)
			}
			if err != nil {
				break
			}
		}
		for _, m := range kept {
			if err := lw.write(m); err != nil {
				return ignoreDone(err)
			}
		}
	}
	var pending []byte
	for {
		line, err := br.ReadBytes('\n')
		pending = append(pending, line...)
		if len(pending) > 0 && pending[len(pending)-1] == '\n' {
			if m, ok := parseCRILine(pending); ok && lw.wanted(m) {
				if err := lw.write(m); err != nil {
					return ignoreDone(err)
				}
			}
			pending = pending[:0]
			continue
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return err
		}
		if running == nil {
			return nil
		}
		if fl, ok := w.(http.Flusher); ok {
			fl.Flush()
		}
		// At the end of the file: wait for more while the container runs.
		stillRunning := running()
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(250 * time.Millisecond):
		}
		if !stillRunning {
			running = nil // one last read for what was written before it exited
		}
	}
}

func ignoreDone(err error) error {
	if errors.Is(err, errLimit) {
		return nil
	}
	return err
}

// logMessage is one line of a CRI log file:
// "<RFC3339Nano time> <stdout|stderr> <F|P> <content>".
type logMessage struct {
	time    time.Time
	stream  string
	partial bool
	content []byte
}

func parseCRILine(line []byte) (logMessage, bool) {
	line = bytes.TrimSuffix(line, []byte("\n"))
	var m logMessage
	ts, rest, ok := bytes.Cut(line, []byte(" "))
	if !ok {
		return m, false
	}
	t, err := time.Parse(time.RFC3339Nano, string(ts))
	if err != nil {
		return m, false
	}
	stream, rest, ok := bytes.Cut(rest, []byte(" "))
	if !ok {
		return m, false
	}
	tag, content, _ := bytes.Cut(rest, []byte(" "))
	// The tag may carry more fields after ':'; the first says full or partial.
	tag, _, _ = bytes.Cut(tag, []byte(":"))
	m.time, m.stream, m.partial = t, string(stream), string(tag) == "P"
	m.content = content
	return m, true
}

var errLimit = errors.New("limitBytes reached")

// logWriter formats messages for the user: timestamps, the newline of full
// lines, the since cut-off and limitBytes.
type logWriter struct {
	w         io.Writer
	opts      logOptions
	remaining int64
	midLine   bool // the previous message was partial
}

func (lw *logWriter) wanted(m logMessage) bool {
	return lw.opts.since.IsZero() || !m.time.Before(lw.opts.since)
}

func (lw *logWriter) write(m logMessage) error {
	var b []byte
	if lw.opts.timestamps && !lw.midLine {
		b = append(b, m.time.UTC().Format(time.RFC3339Nano)...)
		b = append(b, ' ')
	}
	b = append(b, m.content...)
	if !m.partial {
		b = append(b, '\n')
	}
	lw.midLine = m.partial
	if lw.opts.limitBytes > 0 {
		if lw.remaining <= 0 {
			return errLimit
		}
		if int64(len(b)) > lw.remaining {
			b = b[:lw.remaining]
		}
		lw.remaining -= int64(len(b))
	}
	_, err := lw.w.Write(b)
	if err == nil && lw.opts.limitBytes > 0 && lw.remaining <= 0 {
		return errLimit
	}
	return err
}
