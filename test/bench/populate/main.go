// Command populate fills a cluster with the benchmark data set of hack/bench.sh: TLS secrets
// with real, freshly generated certificates spread over many namespaces, and validating
// webhook configurations with caBundles. It creates them concurrently through client-go
// (kubectl create -f of 10,000 objects takes about ten minutes on a 2-core machine), and
// records the data set in a marker ConfigMap so that a second run on the same etcd data
// returns at once.
//
// The shapes follow what a real cluster holds: most secrets are a leaf signed by one
// shared CA whose certificate sits in ca.crt (the same CA in thousands of secrets); one in
// five carries a chain (leaf + intermediate); one in ten is expired and one in ten expires
// within two weeks. Keys are ECDSA P-256 and the secrets carry tls.key like any TLS secret.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/certdoctor/kubectl-certdoctor/pkg/certs/certstest"
)

// datasetVersion changes when the shape of the data set changes, so old data is not reused.
const datasetVersion = "1"

const (
	markerNamespace = "kube-system"
	markerName      = "certdoctor-bench"
	labelKey        = "certdoctor.io/bench"
)

type spec struct {
	secrets, namespaces, webhooks, workers int
}

func main() {
	var s spec
	kubeconfig := flag.String("kubeconfig", os.Getenv("KUBECONFIG"), "kubeconfig of the cluster to fill")
	flag.IntVar(&s.secrets, "secrets", 10000, "TLS secrets to create")
	flag.IntVar(&s.namespaces, "namespaces", 500, "namespaces to spread them over")
	flag.IntVar(&s.webhooks, "webhooks", 50, "validating webhook configurations to create")
	flag.IntVar(&s.workers, "workers", 32, "concurrent create requests")
	flag.Parse()
	if s.secrets < 0 || s.namespaces < 1 || s.webhooks < 0 || s.workers < 1 {
		fmt.Fprintln(os.Stderr, "populate: -secrets, -webhooks >= 0 and -namespaces, -workers >= 1")
		os.Exit(1)
	}
	if err := run(context.Background(), *kubeconfig, s); err != nil {
		fmt.Fprintln(os.Stderr, "populate:", err)
		os.Exit(1)
	}
}

func (s spec) marker() map[string]string {
	return map[string]string{"version": datasetVersion, "secrets": strconv.Itoa(s.secrets),
		"namespaces": strconv.Itoa(s.namespaces), "webhooks": strconv.Itoa(s.webhooks)}
}

func run(ctx context.Context, kubeconfig string, s spec) error {
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return err
	}
	cfg.QPS, cfg.Burst = -1, 0 // no client-side rate limit: the API server's own limits apply
	cfg.ContentType = "application/vnd.kubernetes.protobuf"
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	cms := client.CoreV1().ConfigMaps(markerNamespace)
	if m, err := cms.Get(ctx, markerName, metav1.GetOptions{}); err == nil {
		if fmt.Sprint(m.Data) == fmt.Sprint(s.marker()) {
			fmt.Printf("populate: data set present (%d secrets, %d namespaces, %d webhooks)\n", s.secrets, s.namespaces, s.webhooks)
			return nil
		}
		return fmt.Errorf("this etcd holds another data set (%v); use a fresh data dir", m.Data)
	} else if !apierrors.IsNotFound(err) {
		return err
	}

	start := time.Now()
	root := certstest.NewCA("certdoctor-bench-root")
	inter := root.Issue(certstest.Opts{CN: "certdoctor-bench-intermediate", IsCA: true, NotAfter: certstest.Days(5 * 365)})
	labels := map[string]string{labelKey: "1"}

	err = forEach(s.namespaces, s.workers, func(i int) error {
		_, err := client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{
			Name: nsName(i), Labels: labels}}, metav1.CreateOptions{})
		return ignoreExists(err)
	})
	if err != nil {
		return fmt.Errorf("namespaces: %w", err)
	}
	var done atomic.Int64
	err = forEach(s.secrets, s.workers, func(i int) error {
		name := fmt.Sprintf("tls-%05d", i)
		o := certstest.Opts{CN: name + ".example.com", DNS: []string{name + ".example.com"}}
		switch i % 10 {
		case 1:
			o = mergeDates(o, certstest.Expired())
		case 2:
			o.NotAfter = certstest.Days(10)
		}
		signer := root
		if i%5 == 0 {
			signer = inter
		}
		leaf := signer.Issue(o)
		crt := leaf.CertPEM()
		if signer == inter {
			crt = certstest.Bundle(leaf, inter)
		}
		sec := tlsSecret(nsName(i%s.namespaces), name, crt, leaf.KeyPEM(), root.CertPEM(), labels)
		_, err := client.CoreV1().Secrets(sec.Namespace).Create(ctx, sec, metav1.CreateOptions{})
		return progress(&done, s.secrets, ignoreExists(err))
	})
	if err != nil {
		return fmt.Errorf("secrets: %w", err)
	}
	err = forEach(s.webhooks, s.workers, func(i int) error {
		ca := root
		if i%10 == 9 { // some products bring their own CA
			ca = certstest.NewCA(fmt.Sprintf("bench-webhook-ca-%02d", i))
		}
		_, err := client.AdmissionregistrationV1().ValidatingWebhookConfigurations().Create(ctx,
			webhookConfig(fmt.Sprintf("bench-webhook-%02d", i), nsName(i%s.namespaces), ca.CertPEM(), labels), metav1.CreateOptions{})
		return ignoreExists(err)
	})
	if err != nil {
		return fmt.Errorf("webhook configurations: %w", err)
	}
	_, err = cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: markerName, Labels: labels},
		Data: s.marker()}, metav1.CreateOptions{})
	if err != nil {
		return fmt.Errorf("marker: %w", err)
	}
	fmt.Printf("populate: created %d secrets in %d namespaces and %d webhook configurations in %.1fs\n",
		s.secrets, s.namespaces, s.webhooks, time.Since(start).Seconds())
	return nil
}

func nsName(i int) string { return fmt.Sprintf("bench-%03d", i) }

func mergeDates(o, dates certstest.Opts) certstest.Opts {
	o.NotBefore, o.NotAfter = dates.NotBefore, dates.NotAfter
	return o
}

func tlsSecret(ns, name string, crt, key, ca []byte, labels map[string]string) *corev1.Secret {
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: labels},
		Type:       corev1.SecretTypeTLS,
		Data:       map[string][]byte{corev1.TLSCertKey: crt, corev1.TLSPrivateKeyKey: key, "ca.crt": ca},
	}
}

// webhookConfig is a configuration the API server never calls: its rule names a resource
// that does not exist, and failurePolicy Ignore keeps it harmless even if one did.
func webhookConfig(name, ns string, caBundle []byte, labels map[string]string) *admissionregistrationv1.ValidatingWebhookConfiguration {
	ignore := admissionregistrationv1.Ignore
	none := admissionregistrationv1.SideEffectClassNone
	path := "/validate"
	return &admissionregistrationv1.ValidatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
		Webhooks: []admissionregistrationv1.ValidatingWebhook{{
			Name: name + ".bench.certdoctor.io",
			ClientConfig: admissionregistrationv1.WebhookClientConfig{
				Service:  &admissionregistrationv1.ServiceReference{Namespace: ns, Name: "bench-webhook", Path: &path},
				CABundle: caBundle,
			},
			Rules: []admissionregistrationv1.RuleWithOperations{{
				Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create},
				Rule: admissionregistrationv1.Rule{APIGroups: []string{"bench.certdoctor.io"},
					APIVersions: []string{"v1"}, Resources: []string{"widgets"}},
			}},
			FailurePolicy:           &ignore,
			SideEffects:             &none,
			AdmissionReviewVersions: []string{"v1"},
		}},
	}
}

func ignoreExists(err error) error {
	if apierrors.IsAlreadyExists(err) {
		return nil
	}
	return err
}

func progress(done *atomic.Int64, total int, err error) error {
	if n := done.Add(1); err == nil && n%2000 == 0 {
		fmt.Printf("populate: %d/%d secrets\n", n, total)
	}
	return err
}

// forEach runs fn(0..n-1) on workers goroutines and returns the first error.
func forEach(n, workers int, fn func(i int) error) error {
	var (
		wg       sync.WaitGroup
		next     atomic.Int64
		firstErr error
		once     sync.Once
	)
	for w := 0; w < min(workers, n); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if err := fn(i); err != nil {
					once.Do(func() { firstErr = err })
					next.Store(int64(n)) // stop handing out work
					return
				}
			}
		}()
	}
	wg.Wait()
	return firstErr
}
