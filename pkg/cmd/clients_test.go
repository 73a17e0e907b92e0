package cmd

import (
	"crypto/x509"
	"errors"
	"fmt"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/rest"

	"github.com/certdoctor/kubectl-certdoctor/pkg/certs/certstest"
)

func TestTrustedDespiteHost(t *testing.T) {
	ca, other := certstest.NewCA("kubernetes"), certstest.NewCA("other")
	leaf := ca.Issue(certstest.Opts{CN: "kube-apiserver", DNS: []string{"kubernetes", "kubernetes.default"}, IPs: []string{"172.16.0.1"}})
	cfg := &rest.Config{Host: "https://10.254.0.1:443"}
	chain := []*x509.Certificate{leaf.Cert}
	alt := trustedDespiteHost(cfg, chain, ca.CertPEM(), time.Now())
	if alt == nil || alt.ServerName != "kubernetes" || cfg.ServerName != "" {
		t.Fatalf("a CA-verified certificate missing only the host: want ServerName kubernetes on a copy, got %+v", alt)
	}
	if trustedDespiteHost(cfg, chain, other.CertPEM(), time.Now()) != nil {
		t.Fatal("a certificate the CA does not vouch for must never be trusted")
	}
	expired := ca.Issue(func() certstest.Opts { o := certstest.Expired(); o.DNS = []string{"kubernetes"}; return o }())
	if trustedDespiteHost(cfg, []*x509.Certificate{expired.Cert}, ca.CertPEM(), time.Now()) != nil {
		t.Fatal("an expired certificate is not trusted under another name either")
	}
	if trustedDespiteHost(cfg, chain, nil, time.Now()) != nil {
		t.Fatal("without a CA there is nothing to vouch")
	}
}

func TestWebhookDiscoveryFailed(t *testing.T) {
	autopilot := fmt.Errorf("list mutatingwebhookconfigurations: %w", errors.New(`mutatingwebhookconfigurations.admissionregistration.k8s.io is forbidden: User "x" cannot list resource "mutatingwebhookconfigurations": GKEAutopilot authz: cluster scoped resource "mutatingwebhookconfigurations/" is managed and access is denied`))
	r, err := discoveryFailed(time.Now(), autopilot)
	if err != nil || len(r.Findings) != 1 || r.Findings[0].Code != "WebhookConfigurationsManaged" || r.ExitCode() != 2 {
		t.Fatalf("%+v %v", r, err)
	}
	forbidden := fmt.Errorf("list validatingwebhookconfigurations: %w", apierrors.NewForbidden(schema.GroupResource{Group: "admissionregistration.k8s.io", Resource: "validatingwebhookconfigurations"}, "", errors.New("no")))
	if r, err := discoveryFailed(time.Now(), forbidden); err != nil || r.Findings[0].Code != "PermissionDenied" {
		t.Fatalf("%+v %v", r, err)
	}
	if _, err := discoveryFailed(time.Now(), errors.New("boom")); err == nil {
		t.Fatal("an unknown failure is the command's failure")
	}
}

func TestTrustedDespiteHostLeavesAGoodHostAlone(t *testing.T) {
	ca := certstest.NewCA("kubernetes")
	leaf := ca.Issue(certstest.Opts{CN: "kube-apiserver", DNS: []string{"kubernetes"}, IPs: []string{"10.200.0.1"}})
	if alt := trustedDespiteHost(&rest.Config{Host: "https://10.200.0.1:6443"}, []*x509.Certificate{leaf.Cert}, ca.CertPEM(), time.Now()); alt != nil {
		t.Fatalf("the certificate covers the kubeconfig host: keep the config, got ServerName %q", alt.ServerName)
	}
}
