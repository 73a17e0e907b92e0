package nodes

import (
	"context"
	"errors"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"

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
	}
	return ctx.Err()
}

func blocked(err error) result.Finding {
	return diagnose.New(diagnose.CodeNodeChecksBlocked, diagnose.Where{Source: result.SourceNode, Subject: "debug pods"}, diagnose.Params{"err": err})
}
