package sources

import (
	"context"
	"path"

	"github.com/certdoctor/kubectl-certdoctor/pkg/diagnose"
	"github.com/certdoctor/kubectl-certdoctor/pkg/result"
)

// CertFiles reports each certificate file of a layout certdoctor has no kubeadm-style
// table for (k3s, RKE2, minikube): one row per certificate, with expiry findings.
type CertFiles struct {
	SourceName string
	Node       string
	Files      Files
	Paths      []string
}

func (f *CertFiles) Name() string { return f.SourceName }

// Collect implements Source.
func (f *CertFiles) Collect(_ context.Context, c *Collector) error {
	var cache parseCache
	for _, p := range f.Paths {
		data, err := f.Files.ReadFile(p)
		if err != nil {
			continue
		}
		subject := p
		if f.Node != "" {
			subject = f.Node + ":" + p
		}
		infos, err := cache.parse(data)
		if err != nil {
			c.Finding(diagnose.InvalidCertificate(f.SourceName, subject, err))
			continue
		}
		c.AddChain(infos, result.Record{Source: f.SourceName, Name: path.Base(p), Location: p, Node: f.Node},
			diagnose.CertContext{Subject: subject})
	}
	return nil
}
