package sources

import (
	"bytes"
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
)

// protobufMagic starts every Kubernetes protobuf body (an envelope holding the object).
var protobufMagic = []byte("k8s\x00")

// secretPager lists secrets page by page into buffers it keeps. client-go's List reads
// each page into a fresh, growing buffer and copies it once more out of its protobuf
// envelope before decoding: for 30,000 secrets that is a third of everything a run
// allocates, and garbage the collector must chase under its memory limit. The decoded
// objects copy what they keep, so the buffers serve every page.
type secretPager struct {
	client   kubernetes.Interface
	body     bytes.Buffer
	envelope runtime.Unknown
}

// list returns one page. A client without a REST client (the fake clientset of the unit
// tests) is listed through List.
func (p *secretPager) list(ctx context.Context, ns string, opts metav1.ListOptions) (*corev1.SecretList, error) {
	rc, ok := p.client.CoreV1().RESTClient().(*rest.RESTClient)
	if !ok || rc == nil {
		return p.client.CoreV1().Secrets(ns).List(ctx, opts)
	}
	body, err := rc.Get().Namespace(ns).Resource("secrets").VersionedParams(&opts, scheme.ParameterCodec).Stream(ctx)
	if err != nil {
		return nil, err
	}
	defer body.Close()
	p.body.Reset()
	if _, err := p.body.ReadFrom(body); err != nil {
		return nil, fmt.Errorf("reading the secret list: %w", err)
	}
	data, l := p.body.Bytes(), &corev1.SecretList{}
	if !bytes.HasPrefix(data, protobufMagic) { // a server that answered JSON
		return l, runtime.DecodeInto(scheme.Codecs.UniversalDecoder(corev1.SchemeGroupVersion), data, l)
	}
	p.envelope.Raw = p.envelope.Raw[:0] // Unmarshal appends into it: no new buffer after the first page
	if err := p.envelope.Unmarshal(data[len(protobufMagic):]); err != nil {
		return nil, fmt.Errorf("decoding the secret list envelope: %w", err)
	}
	if p.envelope.ContentEncoding != "" {
		return nil, fmt.Errorf("secret list in unsupported content encoding %q", p.envelope.ContentEncoding)
	}
	return l, l.Unmarshal(p.envelope.Raw)
}

// eachSecretPage lists secrets in pages (ns "" for all namespaces), decoding each page
// with one reused buffer, and hands every page to fn.
func eachSecretPage(ctx context.Context, client kubernetes.Interface, ns string, opts metav1.ListOptions, fn func([]corev1.Secret)) error {
	pager := secretPager{client: client}
	return eachPage(ctx, opts, func(ctx context.Context, o metav1.ListOptions) ([]corev1.Secret, string, error) {
		l, err := pager.list(ctx, ns, o)
		if err != nil {
			return nil, "", err
		}
		return l.Items, l.Continue, nil
	}, fn)
}
