package nodes

import (
	"context"
	"errors"
	"path"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/certdoctor/kubectl-certdoctor/pkg/diagnose"
	"github.com/certdoctor/kubectl-certdoctor/pkg/result"
	"github.com/certdoctor/kubectl-certdoctor/pkg/sources"
)

// Source reads the selected nodes' disks with debug pods. It is a sources.Source so
// it runs alongside the cluster object sources, and it turns what stops it (RBAC, Pod
// Security, a node that cannot run the pod) into findings, never into a silent pass.
type Source struct {
	Runner *Runner
	// APIServerPort is where the nodes' API servers listen, for the served-versus-disk check.
	APIServerPort string
	// Each, when set, receives each node's scan instead of the certificate sources
	// (sans wants only the API server certificate).
	Each func(*Result)
	// Published, when set, fetches the service-account keys and issuer the cluster
	// publishes, to compare with the control-plane nodes' sa.pub.
	Published func(context.Context) sources.Published
}

func (s *Source) Name() string { return result.SourceNode }

// Collect implements sources.Source.
func (s *Source) Collect(ctx context.Context, c *sources.Collector) error {
	list, err := s.Runner.SelectNodes(ctx)
	if err != nil {
		if apierrors.IsForbidden(err) {
			c.Finding(diagnose.PermissionDenied(result.SourceNode, "list", "nodes", "", "", err))
			return nil
		}
		return err
	}
	if len(list) == 0 {
		c.Note("no control-plane nodes are visible (a managed control plane?): no node disks were read; --all-nodes reads the workers' kubelet certificates")
		return nil
	}
	if err := s.Runner.Preflight(ctx); err != nil {
		c.Finding(blocked(err))
		return nil
	}
	before := len(s.Runner.Opts.Undeleted.List())
	results := s.Runner.Run(ctx, list)
	if left := s.Runner.Opts.Undeleted.List()[before:]; len(left) > 0 {
		c.Finding(diagnose.New(diagnose.CodeDebugPodsLeft, diagnose.Where{Source: result.SourceNode, Subject: "debug pods"},
			diagnose.Params{"pods": strings.Join(left, ", "), "namespace": s.Runner.Opts.Namespace}))
	}
	read := false
	for _, res := range results {
		if res.Err != nil {
			if errors.Is(res.Err, ErrBlocked) {
				c.Finding(blocked(res.Err))
			} else {
				c.Finding(diagnose.New(diagnose.CodeNodeCheckFailed, diagnose.Where{Source: result.SourceNode, Subject: "node " + res.Node.Name},
					diagnose.Params{"err": res.Err}))
			}
			continue
		}
		if s.Each != nil {
			s.Each(&res)
			continue
		}
		sources.Run(ctx, c, res.Sources(s.APIServerPort, 3*time.Second))
		read = true
	}
	if read {
		c.Note("the nodes' private keys were not compared with their certificates: the debug pods read certificates and public keys only, as keys never leave the node " +
			"(on the node: openssl x509 -noout -pubkey -in FILE.crt | sha256sum and openssl pkey -pubout -in FILE.key | sha256sum must agree)")
	}
	if s.Published != nil && s.Each == nil && ctx.Err() == nil {
		if keys := s.saKeys(ctx, results); len(keys) > 0 {
			sources.CompareServiceAccountKeys(c, keys, s.Published(ctx))
		}
	}
	return ctx.Err()
}

// saKeys are the service-account verification keys of the control-plane nodes scanned:
// the file kube-apiserver's --service-account-key-file names (from its mirror pod), else
// the layout's sa.pub. A node without an API server certificate is not a control-plane
// node; a key file the debug pod did not mount is a note, not a pass.
func (s *Source) saKeys(ctx context.Context, results []Result) []sources.NodeSAKeys {
	apiservers := map[string]*corev1.Pod{} // node -> its kube-apiserver mirror pod
	if l, err := s.Runner.Client.CoreV1().Pods("kube-system").List(ctx, metav1.ListOptions{LabelSelector: "component=kube-apiserver"}); err == nil {
		for i := range l.Items {
			apiservers[l.Items[i].Spec.NodeName] = &l.Items[i]
		}
	}
	var out []sources.NodeSAKeys
	for _, res := range results {
		p := res.Preset
		if res.Err != nil || res.Files == nil || p.PKIDir == "" || !res.Files.Exists(p.APIServerCert) {
			continue
		}
		k := sources.NodeSAKeys{Node: res.Node.Name, Path: path.Join(p.PKIDir, "sa.pub")}
		if pod := apiservers[res.Node.Name]; pod != nil {
			if issuers := sources.ContainerFlagValues(pod, "service-account-issuer"); len(issuers) > 0 {
				k.Issuer = issuers[0]
			}
			if files := sources.ContainerFlagValues(pod, "service-account-key-file"); len(files) == 1 {
				k.Path = files[0]
			}
		}
		k.PEM, _ = res.Files.PublicKeys(k.Path)
		out = append(out, k)
	}
	return out
}

func blocked(err error) result.Finding {
	return diagnose.New(diagnose.CodeNodeChecksBlocked, diagnose.Where{Source: result.SourceNode, Subject: "debug pods"}, diagnose.Params{"err": err})
}
