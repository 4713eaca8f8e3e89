package endpoints

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"mime"
	"net/http"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer/protobuf"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
)

// ProtobufType is the Kubernetes protobuf media type; client-go's typed
// clients send and prefer it.
const ProtobufType = "application/vnd.kubernetes.protobuf"

// scheme knows every served type plus the meta.k8s.io types, for protobuf.
var scheme = func() *runtime.Scheme {
	s := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(s); err != nil {
		panic(err)
	}
	if err := metav1.AddMetaToScheme(s); err != nil {
		panic(err)
	}
	metav1.AddToGroupVersion(s, metav1.SchemeGroupVersion)
	return s
}()

var (
	protoSerializer = protobuf.NewSerializer(scheme, scheme)
	protoRaw        = protobuf.NewRawSerializer(scheme, scheme)
)

func isProtobuf(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && mt == ProtobufType
}

// encodeProtobuf encodes obj, whose GVK must be set, in the protobuf envelope.
func encodeProtobuf(obj runtime.Object) ([]byte, error) {
	var buf bytes.Buffer
	if err := protoSerializer.Encode(obj, &buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func decodeProtobuf(data []byte, into runtime.Object) error {
	if _, _, err := protoSerializer.Decode(data, nil, into); err != nil {
		return apierrors.NewBadRequest(fmt.Sprintf("error decoding protobuf request body: %v", err))
	}
	return nil
}

func writeProtobuf(w http.ResponseWriter, code int, obj runtime.Object) {
	b, err := encodeProtobuf(obj)
	if err != nil {
		WriteError(w, apierrors.NewInternalError(err))
		return
	}
	w.Header().Set("Content-Type", ProtobufType)
	w.WriteHeader(code)
	_, _ = w.Write(b)
}

// protobufWatchFrame frames one watch event the way client-go's protobuf watch
// decoder reads it: a 4-byte big-endian length, then a raw WatchEvent whose
// object is an enveloped protobuf object.
func protobufWatchFrame(eventType string, obj runtime.Object) ([]byte, error) {
	raw, err := encodeProtobuf(obj)
	if err != nil {
		return nil, err
	}
	ev := &metav1.WatchEvent{Type: eventType, Object: runtime.RawExtension{Raw: raw}}
	var buf bytes.Buffer
	if err := protoRaw.Encode(ev, &buf); err != nil {
		return nil, err
	}
	out := make([]byte, 4, 4+buf.Len())
	binary.BigEndian.PutUint32(out, uint32(buf.Len()))
	return append(out, buf.Bytes()...), nil
}

// DecodeBody decodes a subresource request body (JSON, YAML or protobuf) into into.
func DecodeBody(r *http.Request, into runtime.Object) error {
	body, err := readBody(r)
	if err != nil {
		return err
	}
	if isProtobuf(r.Header.Get("Content-Type")) {
		return decodeProtobuf(body, into)
	}
	data, err := bodyJSON(r, body)
	if err != nil {
		return err
	}
	return decodeInto(nil, data, into, "Ignore")
}
