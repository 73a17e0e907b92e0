package sources

import (
	"context"
	"sort"
	"sync"
	"time"

	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/certdoctor/kubectl-certdoctor/pkg/diagnose"
	"github.com/certdoctor/kubectl-certdoctor/pkg/result"
)

// maxBrowserValidity is the longest validity browsers accept for a TLS server
// certificate issued since 1 September 2020 (CA/Browser Forum ballot SC31, 398 days).
const maxBrowserValidity = 398 * 24 * time.Hour

// ingressServed finds which TLS secrets Ingresses serve to browsers. The Ingresses are
// listed once, in pages, while the secrets are (so the list adds no latency), and the
// secrets' long-lived leaves are matched against them at the end.
type ingressServed struct {
	mu   sync.Mutex
	long []longLeaf
	refs map[string]string // "namespace/secretName" -> "namespace/ingressName"
	err  error
	done chan struct{}
}

// longLeaf is a TLS secret whose leaf is valid for longer than browsers accept.
type longLeaf struct {
	secret, subject string
	days            int
}

// start lists the Ingresses of ns (all namespaces when empty) in the background.
func (s *ingressServed) start(ctx context.Context, client kubernetes.Interface, ns string) {
	s.done, s.refs = make(chan struct{}), map[string]string{}
	go func() {
		defer close(s.done)
		s.err = eachPage(ctx, metav1.ListOptions{}, func(ctx context.Context, o metav1.ListOptions) ([]networkingv1.Ingress, string, error) {
			l, err := client.NetworkingV1().Ingresses(ns).List(ctx, o)
			if err != nil {
				return nil, "", err
			}
			return l.Items, l.Continue, nil
		}, func(items []networkingv1.Ingress) {
			for _, ing := range items {
				for _, t := range ing.Spec.TLS {
					if t.SecretName != "" {
						s.refs[ing.Namespace+"/"+t.SecretName] = ing.Namespace + "/" + ing.Name
					}
				}
			}
		})
	}()
}

// leaf remembers secret's leaf when it is valid for longer than browsers accept.
func (s *ingressServed) leaf(secret string, leaf *result.CertInfo) {
	if s == nil || leaf.IsCA || leaf.NotAfter.Sub(leaf.NotBefore) <= maxBrowserValidity {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.long = append(s.long, longLeaf{secret, leaf.Subject, int(leaf.NotAfter.Sub(leaf.NotBefore).Hours() / 24)})
}

// notes waits for the Ingress list and notes each long-lived leaf an Ingress serves: a
// note, not a finding, because a private CA's certificates are exempt from the limit. A
// list that fails is a finding like any other read's (RBAC, throttling).
func (s *ingressServed) notes(c *Collector, ns string) {
	<-s.done
	switch {
	case apierrors.IsForbidden(s.err):
		c.Finding(diagnose.PermissionDenied(result.SourceSecret, "list", "ingresses", networkingv1.GroupName, ns, s.err))
		return
	case s.err != nil:
		c.Finding(diagnose.FromAPIError(result.SourceSecret, "ingresses", s.err))
		return
	}
	sort.Slice(s.long, func(i, j int) bool { return s.long[i].secret < s.long[j].secret })
	for _, l := range s.long {
		if ing, ok := s.refs[l.secret]; ok {
			c.Note("secret %s tls.crt (%q) is valid for %d days and served by Ingress %s: browsers refuse publicly trusted "+
				"server certificates valid longer than 398 days; re-issue it for at most 398 (openssl x509 -req ... -days 397; cert-manager: spec.duration: 2160h)",
				l.secret, l.subject, l.days, ing)
		}
	}
}
