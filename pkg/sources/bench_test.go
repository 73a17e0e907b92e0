package sources

import (
	"context"
	"fmt"
	"strconv"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/certdoctor/kubectl-certdoctor/pkg/certs/certstest"
)

// pagedSecrets serves items in pages of the requested limit without the fake
// clientset's deep copies, so the benchmark measures certdoctor, not the fake.
func pagedSecrets(items []corev1.Secret) *fake.Clientset {
	client := fake.NewClientset()
	client.PrependReactor("list", "secrets", func(a k8stesting.Action) (bool, runtime.Object, error) {
		start, _ := strconv.Atoi(a.(k8stesting.ListActionImpl).ListOptions.Continue)
		end := min(start+PageSize, len(items))
		l := &corev1.SecretList{Items: items[start:end]}
		if end < len(items) {
			l.Continue = strconv.Itoa(end)
		}
		return true, l, nil
	})
	return client
}

func tlsSecrets(n int) []corev1.Secret {
	ca := certstest.NewCA("bench-ca")
	exp := certstest.Expired()
	items := make([]corev1.Secret, n)
	for i := range items {
		o := certstest.Opts{CN: fmt.Sprintf("host-%d.example.com", i), DNS: []string{fmt.Sprintf("host-%d.example.com", i)}}
		if i%10 == 0 {
			o.NotBefore, o.NotAfter = exp.NotBefore, exp.NotAfter
		}
		items[i] = *tlsSecret(fmt.Sprintf("ns-%d", i%500), fmt.Sprintf("s-%d", i), ca.Issue(o).CertPEM(), ca.CertPEM(), nil)
	}
	return items
}

// BenchmarkTLSSecrets10k is `expiry`'s secret scan over 10,000 TLS secrets (each with
// its own leaf and a shared ca.crt, one in ten expired).
func BenchmarkTLSSecrets10k(b *testing.B) {
	client := pagedSecrets(tlsSecrets(10000))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		c := newTestCollector()
		if err := (&TLSSecrets{Client: client}).Collect(context.Background(), c); err != nil {
			b.Fatal(err)
		}
		if recs, fs, _ := c.Results(); len(recs) != 20000 || len(fs) != 1000 {
			b.Fatalf("records %d findings %d", len(recs), len(fs))
		}
	}
}

// TestPagedSecretsServesAll keeps the benchmark's fake honest.
func TestPagedSecretsServesAll(t *testing.T) {
	c := newTestCollector()
	if err := (&TLSSecrets{Client: pagedSecrets(tlsSecrets(1234))}).Collect(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	if recs, fs, _ := c.Results(); len(recs) != 2468 || len(fs) != 124 {
		t.Fatalf("records %d findings %d", len(recs), len(fs))
	}
}
