package describe

import (
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// volumeSection prints a pod's (or a pod template's) volumes.
func volumeSection(w *writer, vols []corev1.Volume, template bool) {
	level, indent := 0, ""
	if template {
		level, indent = 1, " "
	}
	if len(vols) == 0 {
		w.write(level, "Volumes:\t<none>\n")
		return
	}
	w.write(level, "Volumes:\n")
	for _, v := range vols {
		w.write(1, "%s%s:\n", indent, v.Name)
		volumeSource(w, &v.VolumeSource)
	}
}

// volumeSource describes where a volume's data comes from, at level 2.
func volumeSource(w *writer, s *corev1.VolumeSource) {
	switch {
	case s.HostPath != nil:
		hostPath(w, s.HostPath)
	case s.EmptyDir != nil:
		w.write(2, "Type:\tEmptyDir (a temporary directory that shares a pod's lifetime)\n")
		w.write(2, "Medium:\t%s\n", s.EmptyDir.Medium)
		if s.EmptyDir.SizeLimit != nil {
			w.write(2, "SizeLimit:\t%s\n", s.EmptyDir.SizeLimit.String())
		} else {
			w.write(2, "SizeLimit:\t<unset>\n")
		}
	case s.Secret != nil:
		w.write(2, "Type:\tSecret (a volume populated by a Secret)\n")
		w.write(2, "SecretName:\t%s\n", s.Secret.SecretName)
		w.write(2, "Optional:\t%s\n", boolStr(s.Secret.Optional))
	case s.ConfigMap != nil:
		w.write(2, "Type:\tConfigMap (a volume populated by a ConfigMap)\n")
		w.write(2, "Name:\t%s\n", s.ConfigMap.Name)
		w.write(2, "Optional:\t%s\n", boolStr(s.ConfigMap.Optional))
	case s.PersistentVolumeClaim != nil:
		w.write(2, "Type:\tPersistentVolumeClaim (a reference to a PersistentVolumeClaim in the same namespace)\n")
		w.write(2, "ClaimName:\t%s\n", s.PersistentVolumeClaim.ClaimName)
		w.write(2, "ReadOnly:\t%v\n", s.PersistentVolumeClaim.ReadOnly)
	case s.NFS != nil:
		nfs(w, s.NFS)
	case s.DownwardAPI != nil:
		w.write(2, "Type:\tDownwardAPI (a volume populated by information about the pod)\n")
		w.write(2, "Items:\n")
		for _, it := range s.DownwardAPI.Items {
			switch {
			case it.FieldRef != nil:
				w.write(3, "%s -> %s\n", it.FieldRef.FieldPath, it.Path)
			case it.ResourceFieldRef != nil:
				w.write(3, "%s -> %s\n", it.ResourceFieldRef.Resource, it.Path)
			}
		}
	case s.Projected != nil:
		w.write(2, "Type:\tProjected (a volume that contains injected data from multiple sources)\n")
		for _, src := range s.Projected.Sources {
			switch {
			case src.Secret != nil:
				w.write(2, "SecretName:\t%s\n", src.Secret.Name)
				w.write(2, "Optional:\t%s\n", boolStr(src.Secret.Optional))
			case src.DownwardAPI != nil:
				w.write(2, "DownwardAPI:\ttrue\n")
			case src.ConfigMap != nil:
				w.write(2, "ConfigMapName:\t%s\n", src.ConfigMap.Name)
				w.write(2, "Optional:\t%s\n", boolStr(src.ConfigMap.Optional))
			case src.ServiceAccountToken != nil:
				exp := int64(0)
				if src.ServiceAccountToken.ExpirationSeconds != nil {
					exp = *src.ServiceAccountToken.ExpirationSeconds
				}
				w.write(2, "TokenExpirationSeconds:\t%d\n", exp)
			case src.ClusterTrustBundle != nil:
				w.write(2, "ClusterTrustBundle:\t%s\n", src.ClusterTrustBundle.Path)
			}
		}
	case s.CSI != nil:
		w.write(2, "Type:\tCSI (a Container Storage Interface (CSI) volume source)\n")
		w.write(2, "Driver:\t%s\n", s.CSI.Driver)
		fsType := ""
		if s.CSI.FSType != nil {
			fsType = *s.CSI.FSType
		}
		w.write(2, "FSType:\t%s\n", fsType)
		w.write(2, "ReadOnly:\t%s\n", boolStr(s.CSI.ReadOnly))
		printLabelsIndented(w, 2, "VolumeAttributes", s.CSI.VolumeAttributes)
	case s.Ephemeral != nil:
		w.write(2, "Type:\tEphemeralVolume (an inline specification for a volume that gets created and deleted with the pod)\n")
		if t := s.Ephemeral.VolumeClaimTemplate; t != nil {
			sc := ""
			if t.Spec.StorageClassName != nil {
				sc = *t.Spec.StorageClassName
			}
			w.write(2, "StorageClass:\t%s\n", sc)
			w.write(2, "Volume:\t%s\n", t.Spec.VolumeName)
			printLabels(w, 2, "Labels", t.Labels)
			printAnnotations(w, 2, "Annotations", t.Annotations)
			storage := t.Spec.Resources.Requests[corev1.ResourceStorage]
			w.write(2, "Capacity:\t%s\n", storage.String())
			w.write(2, "Access Modes:\t%s\n", accessModes(t.Spec.AccessModes))
			w.write(2, "VolumeMode:\t%s\n", volumeMode(t.Spec.VolumeMode))
		}
	case s.Image != nil:
		w.write(2, "Type:\tImage (a container image or OCI artifact)\n")
		w.write(2, "Reference:\t%s\n", s.Image.Reference)
		w.write(2, "PullPolicy:\t%s\n", s.Image.PullPolicy)
	default:
		w.write(1, "<unknown>\n")
	}
}

func hostPath(w *writer, h *corev1.HostPathVolumeSource) {
	t := ""
	if h.Type != nil {
		t = string(*h.Type)
	}
	w.write(2, "Type:\tHostPath (bare host directory volume)\n")
	w.write(2, "Path:\t%s\n", h.Path)
	w.write(2, "HostPathType:\t%s\n", t)
}

func nfs(w *writer, n *corev1.NFSVolumeSource) {
	w.write(2, "Type:\tNFS (an NFS mount that lasts the lifetime of a pod)\n")
	w.write(2, "Server:\t%s\n", n.Server)
	w.write(2, "Path:\t%s\n", n.Path)
	w.write(2, "ReadOnly:\t%v\n", n.ReadOnly)
}

// printLabelsIndented prints labels under a title written as is.
func printLabelsIndented(w *writer, level int, title string, m map[string]string) {
	multiline(w, level, title, labelLines(m))
}

// accessModes are the short forms of access modes: "RWO,ROX".
func accessModes(modes []corev1.PersistentVolumeAccessMode) string {
	var out []string
	seen := map[string]bool{}
	for _, m := range modes {
		short := ""
		switch m {
		case corev1.ReadWriteOnce:
			short = "RWO"
		case corev1.ReadOnlyMany:
			short = "ROX"
		case corev1.ReadWriteMany:
			short = "RWX"
		case corev1.ReadWriteOncePod:
			short = "RWOP"
		default:
			short = string(m)
		}
		if !seen[short] {
			seen[short] = true
			out = append(out, short)
		}
	}
	return strings.Join(out, ",")
}

func volumeMode(m *corev1.PersistentVolumeMode) string {
	if m == nil {
		return string(corev1.PersistentVolumeFilesystem)
	}
	return string(*m)
}

// pvSource describes a persistent volume's source, at level 2.
func pvSource(w *writer, s *corev1.PersistentVolumeSource) {
	switch {
	case s.HostPath != nil:
		hostPath(w, s.HostPath)
	case s.NFS != nil:
		nfs(w, s.NFS)
	case s.Local != nil:
		w.write(2, "Type:\tLocalVolume (a persistent volume backed by local storage on a node)\n")
		w.write(2, "Path:\t%s\n", s.Local.Path)
	case s.CSI != nil:
		w.write(2, "Type:\tCSI (a Container Storage Interface (CSI) volume source)\n")
		w.write(2, "Driver:\t%s\n", s.CSI.Driver)
		w.write(2, "FSType:\t%s\n", s.CSI.FSType)
		w.write(2, "VolumeHandle:\t%s\n", s.CSI.VolumeHandle)
		w.write(2, "ReadOnly:\t%v\n", s.CSI.ReadOnly)
		printLabelsIndented(w, 2, "VolumeAttributes", s.CSI.VolumeAttributes)
	default:
		w.write(1, "<unknown>\n")
	}
}
