package sources

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/certdoctor/kubectl-certdoctor/pkg/certs/certstest"
	"github.com/certdoctor/kubectl-certdoctor/pkg/diagnose"
)

func ingress(ns, name string, secrets ...string) *networkingv1.Ingress {
	ing := &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
	for _, s := range secrets {
		ing.Spec.TLS = append(ing.Spec.TLS, networkingv1.IngressTLS{SecretName: s})
	}
	return ing
}

// A leaf valid for more than 398 days is a note when an Ingress serves it, and nothing
// when no Ingress does (a private CA's internal certificate).
func TestIngressLongValidityNote(t *testing.T) {
	ca := certstest.NewCA("ca")
	long := func(cn string) []byte {
		return ca.Issue(certstest.Opts{CN: cn, DNS: []string{cn}, NotAfter: time.Now().Add(800 * 24 * time.Hour)}).CertPEM()
	}
	c := collectSecrets(t,
		tlsSecret("web", "long", long("www.example.com"), nil, nil),
		tlsSecret("web", "long-internal", long("internal.example.com"), nil, nil),
		tlsSecret("web", "short", ca.Issue(certstest.Opts{CN: "s", DNS: []string{"s"}}).CertPEM(), nil, nil),
		ingress("web", "site", "long", "short"),
		ingress("other", "elsewhere", "long-internal"), // another namespace's secret of that name
	)
	_, fs, notes := c.Results()
	if len(fs) != 0 || len(notes) != 1 {
		t.Fatalf("want one note and no finding; notes %q findings %s", notes, dump(fs))
	}
	if n := notes[0]; !strings.Contains(n, "secret web/long tls.crt") || !strings.Contains(n, "Ingress web/site") ||
		!strings.Contains(n, "800 days") || !strings.Contains(n, "-days 397") {
		t.Errorf("note %q", n)
	}
}

func TestIngressListForbidden(t *testing.T) {
	client := fake.NewClientset()
	client.PrependReactor("list", "ingresses", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(schema.GroupResource{Group: "networking.k8s.io", Resource: "ingresses"}, "",
			fmt.Errorf(`User "viewer" cannot list resource "ingresses" in API group "networking.k8s.io" at the cluster scope`))
	})
	c := newTestCollector()
	if err := (&TLSSecrets{Client: client}).Collect(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	_, fs, _ := c.Results()
	if f := mustFind(t, fs, diagnose.CodePermissionDenied, "ingresses"); !strings.Contains(f.Fix, "--resource=ingresses") {
		t.Errorf("%s", dump(f))
	}
}
