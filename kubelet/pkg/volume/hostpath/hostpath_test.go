package hostpath

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"testing"

	v1 "k8s.io/api/core/v1"
)

func TestCheck(t *testing.T) {
	root := t.TempDir()
	file := filepath.Join(root, "file")
	os.WriteFile(file, []byte("x"), 0o644)
	sock := filepath.Join(root, "sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	tests := []struct {
		name    string
		path    string
		typ     v1.HostPathType
		wantErr bool
		wantDir bool
	}{
		{name: "unset, missing", path: filepath.Join(root, "nope"), typ: v1.HostPathUnset},
		{name: "directory", path: root, typ: v1.HostPathDirectory},
		{name: "directory, is a file", path: file, typ: v1.HostPathDirectory, wantErr: true},
		{name: "directory, missing", path: filepath.Join(root, "nope"), typ: v1.HostPathDirectory, wantErr: true},
		{name: "directory or create", path: filepath.Join(root, "new/dir"), typ: v1.HostPathDirectoryOrCreate, wantDir: true},
		{name: "file", path: file, typ: v1.HostPathFile},
		{name: "file, is a dir", path: root, typ: v1.HostPathFile, wantErr: true},
		{name: "file or create", path: filepath.Join(root, "a/new-file"), typ: v1.HostPathFileOrCreate},
		{name: "socket", path: sock, typ: v1.HostPathSocket},
		{name: "socket, is a file", path: file, typ: v1.HostPathSocket, wantErr: true},
		{name: "char device", path: "/dev/null", typ: v1.HostPathCharDev},
		{name: "block device, is char", path: "/dev/null", typ: v1.HostPathBlockDev, wantErr: true},
		{name: "relative", path: "rel", typ: v1.HostPathUnset, wantErr: true},
	}
	p := New()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			typ := tt.typ
			v := &v1.Volume{Name: "v", VolumeSource: v1.VolumeSource{HostPath: &v1.HostPathVolumeSource{Path: tt.path, Type: &typ}}}
			got, err := p.SetUp(context.Background(), &v1.Pod{}, v, "")
			if (err != nil) != tt.wantErr {
				t.Fatalf("SetUp error = %v, want error: %v", err, tt.wantErr)
			}
			if err == nil && got != tt.path {
				t.Errorf("path = %q, want %q", got, tt.path)
			}
			if tt.typ == v1.HostPathDirectoryOrCreate || tt.typ == v1.HostPathFileOrCreate {
				fi, err := os.Stat(tt.path)
				if err != nil || fi.IsDir() != tt.wantDir {
					t.Errorf("created %s: %v, dir=%v", tt.path, err, fi != nil && fi.IsDir())
				}
			}
		})
	}
}
