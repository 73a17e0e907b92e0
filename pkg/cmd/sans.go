package cmd

import (
	"context"
	"crypto/x509"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/kubectl/pkg/util/templates"

	"github.com/certdoctor/kubectl-certdoctor/pkg/certs"
	"github.com/certdoctor/kubectl-certdoctor/pkg/diagnose"
	"github.com/certdoctor/kubectl-certdoctor/pkg/fileio"
	"github.com/certdoctor/kubectl-certdoctor/pkg/nodes"
	"github.com/certdoctor/kubectl-certdoctor/pkg/result"
	"github.com/certdoctor/kubectl-certdoctor/pkg/sans"
	"github.com/certdoctor/kubectl-certdoctor/pkg/sources"
)

// SANsOptions are the options of `kubectl certdoctor sans`.
type SANsOptions struct {
	*CommonOptions
	Window        ExpiryWindow
	Wait          WaitFlags
	Expect        []string
	Only          bool
	ClusterDomain string
	CertFiles     []string
	Local         LocalFlags
	Manifest      string
	Nodes         NodeFlags

	target *KubeconfigTarget
	// noKubeconfig is why the cluster was not asked when only files were checked.
	noKubeconfig error
}

var (
	sansLong = longDesc(`
		Check that the API server's certificate covers every name and IP address clients use.

		Without --expect, the expected entries are derived from the cluster and shown: the
		kubernetes Service's ClusterIP, kubernetes, kubernetes.default, kubernetes.default.svc,
		kubernetes.default.svc.<cluster domain>, the server host in your kubeconfig, the
		default/kubernetes endpoints and every control-plane node's address and name.
		--expect adds entries; --only checks just those.

		Checked: the certificate the API server serves (even when it does not verify), the
		files given with --cert, or with --local this node's apiserver certificate. A missing
		entry is critical: the finding quotes the error clients will print and the commands
		that re-issue the certificate for this cluster's setup (kubeadm or hand-made PKI).`)

	sansExample = templates.Examples(`
		# After moving the Service network: does the certificate cover the new Service IP?
		kubectl certdoctor sans --expect 10.254.0.1

		# A load balancer name in front of the API servers
		kubectl certdoctor sans --expect api.example.com,10.0.0.10

		# On a control-plane node, offline
		sudo kubectl certdoctor sans --local

		# A certificate file before it is installed
		kubectl certdoctor sans --cert new-apiserver.crt --only --expect 10.254.0.1,kubernetes.default.svc`)
)

// NewSANsOptions returns the options with their defaults.
func NewSANsOptions(common *CommonOptions) *SANsOptions {
	return &SANsOptions{CommonOptions: common, Window: defaultExpiryWindow(), Wait: defaultWaitFlags(), Local: defaultLocalFlags(), Manifest: sans.DefaultLocalPaths.Manifest,
		Nodes: NodeFlags{Options: nodes.DefaultOptions()}}
}

// NewCmdSANs builds `sans`.
func NewCmdSANs(common *CommonOptions) *cobra.Command {
	o := NewSANsOptions(common)
	cmd := &cobra.Command{
		Use:     "sans",
		Short:   "Check that the API server certificate covers every name and IP clients use",
		Long:    sansLong,
		Example: sansExample,
		Args:    cobra.NoArgs,
		RunE:    runE(o),
	}
	f := cmd.Flags()
	f.StringSliceVar(&o.Expect, "expect", o.Expect, "An IP address or DNS name clients use (repeatable, comma-separated).")
	f.BoolVar(&o.Only, "only", o.Only, "Check only the --expect entries; derive nothing from the cluster.")
	f.StringVar(&o.ClusterDomain, "cluster-domain", o.ClusterDomain, "The cluster DNS domain (default: detected, else cluster.local).")
	f.StringSliceVar(&o.CertFiles, "cert", o.CertFiles, "Also check this certificate file (repeatable).")
	addExpiryWindowFlag(cmd, &o.Window)
	addLocalFlags(cmd, &o.Local)
	f.StringVar(&o.Manifest, "manifest", o.Manifest, "With --local: the kube-apiserver static pod manifest.")
	addNodeFlags(cmd, &o.Nodes)
	addWaitFlags(cmd, &o.Wait)
	return cmd
}

// Complete parses flags and resolves the kubeconfig unless --local.
func (o *SANsOptions) Complete(cmd *cobra.Command) error {
	if err := o.Window.complete(); err != nil {
		return err
	}
	if err := o.Local.complete(cmd, "manifest"); err != nil {
		return err
	}
	if o.Local.Enabled || (o.Only && len(o.CertFiles) > 0) {
		return nil
	}
	t, err := o.Factory.Kubeconfig()
	if err != nil && len(o.CertFiles) > 0 && len(o.Expect) > 0 {
		// Files and explicit entries are a complete check without any cluster.
		o.noKubeconfig = err
		return nil
	}
	o.target = t
	return err
}

// Validate rejects entries that are neither IPs nor DNS names.
func (o *SANsOptions) Validate() error {
	if err := o.CommonOptions.Validate(); err != nil {
		return err
	}
	if err := o.Wait.validate(); err != nil {
		return err
	}
	for _, e := range o.Expect {
		if err := sans.ValidateEntry(e); err != nil {
			return err
		}
	}
	if o.Only && len(o.Expect) == 0 {
		return fmt.Errorf("--only needs at least one --expect entry")
	}
	return o.Nodes.validate()
}

// Run gathers the certificates and the expected entries, then checks coverage.
func (o *SANsOptions) Run(ctx context.Context) (*result.Report, error) {
	c := sources.NewCollector(o.Now(), o.Window.Within)
	var targets []sans.Target
	derived := &sans.Derived{}
	switch {
	case o.Local.Enabled:
		var certFile string
		derived, certFile = sans.FromLocal(sans.LocalPaths{Manifest: o.Manifest, KubeletConfig: "/var/lib/kubelet/config.yaml",
			KubeconfigDir: o.Local.KubeconfigDir, PKIDir: o.Local.PKIDir}, o.ClusterDomain)
		t, err := fileTarget(result.SourceLocal, certFile)
		if err != nil {
			return nil, err
		}
		targets = append(targets, t)
	case o.target != nil:
		var served []sans.Target
		served, derived = o.fromCluster(ctx, c)
		targets = append(targets, served...)
	}
	for _, f := range o.CertFiles {
		t, err := fileTarget("file", f)
		if err != nil {
			return nil, err
		}
		targets = append(targets, t)
	}
	if o.noKubeconfig != nil {
		c.Note("only the --expect entries were checked: the entries the cluster would add were not derived (%v)", o.noKubeconfig)
	}
	expected := derived.Set
	if o.Only {
		expected = sans.Set{}
	}
	for _, e := range o.Expect {
		expected.Add(e, "--expect")
	}
	for _, n := range derived.Notes {
		c.Note("%s", n)
	}
	for _, t := range targets {
		c.Add(result.Record{Source: t.Source, Name: "apiserver certificate", Location: t.Name, CertInfo: certs.Describe(t.Cert)}, diagnose.CertContext{})
	}
	res := sans.Check(targets, expected.Items(), derived.Setup)
	for _, f := range res.Findings {
		c.Finding(f)
	}
	recs, fs, notes := c.Results()
	r := result.NewReport("sans", c.Now, recs, fs, notes)
	r.Checks = res.Checks
	return r, nil
}

// fromCluster fetches the served certificate, verifies it against what the kubeconfig
// and in-cluster pods trust, and derives the expected entries: from the cluster when it
// can be asked, else what is known without it (and a finding or note says why).
func (o *SANsOptions) fromCluster(ctx context.Context, c *sources.Collector) ([]sans.Target, *sans.Derived) {
	t := o.target
	if t.Rest == nil {
		c.Finding(unusableKubeconfig(t))
		return nil, &sans.Derived{}
	}
	reportCredentials(c, t, false)
	addr, _, err := sources.HostPort(t.Rest.Host)
	if err != nil {
		c.Finding(sources.BadServerURL(t.Rest.Host, err))
		return nil, &sans.Derived{}
	}
	chain, err := sources.Served(ctx, addr, t.Rest.ServerName, min(t.Rest.Timeout, defaultDialTimeout))
	if err != nil {
		c.Finding(diagnose.FromAPIError(result.SourceAPIServer, t.Rest.Host, err))
		return nil, &sans.Derived{}
	}
	targets := []sans.Target{{Source: result.SourceAPIServer, Name: t.Rest.Host, Cert: chain[0]}}
	if o.Only {
		return targets, &sans.Derived{}
	}
	ca, _ := caData(t.Rest)
	trusted, coveredName := o.verifyKubeconfigTrust(c, chain, ca)
	offline := func(why string) ([]sans.Target, *sans.Derived) {
		c.Note("the Service IP, endpoints and control-plane nodes were not asked for: %s", why)
		return targets, sans.Offline(t.Rest.Host, o.ClusterDomain)
	}
	switch {
	case t.CredErr != nil:
		return offline("the kubeconfig's credentials cannot be used (see findings)")
	case !trusted:
		return offline(strings.TrimPrefix(untrustedNote(coveredName), "cluster objects were not checked: "))
	}
	clients, ok := o.reach(ctx, c, t.Rest)
	if !ok {
		return offline("the API server did not answer the first request (see findings)")
	}
	d := sans.FromCluster(ctx, clients.Kube, t.Rest.Host, o.ClusterDomain)
	for _, err := range d.Denied {
		c.Finding(diagnose.FromAPIError("sans", "", err))
	}
	if d.Throttled != nil {
		c.Finding(diagnose.FromAPIError("sans", "", d.Throttled))
	}
	o.verifyRootCATrust(ctx, c, clients, chain)
	if !o.Nodes.Skip {
		targets = append(targets, o.onDisk(ctx, c, clients)...)
	}
	return targets, d
}

// onDisk reads each control-plane node's apiserver certificate through a debug pod:
// a node that was re-issued a certificate without restarting, or one node of several
// with an old certificate, is found there and not in the served one.
func (o *SANsOptions) onDisk(ctx context.Context, c *sources.Collector, clients *Clients) []sans.Target {
	var targets []sans.Target
	src := &nodes.Source{Runner: &nodes.Runner{Client: clients.Kube, Opts: o.Nodes.Options, Progress: progressWriter(o.CommonOptions)},
		Each: func(res *nodes.Result) {
			path := res.Preset.APIServerCert
			data, err := res.Files.ReadFile(path)
			if err != nil {
				c.Note("node %s has no %s: not an API server node of this layout", res.Node.Name, path)
				return
			}
			chain, err := certs.ParseBundle(data)
			if err != nil {
				c.Finding(diagnose.InvalidCertificate(result.SourceNode, res.Node.Name+":"+path, err))
				return
			}
			targets = append(targets, sans.Target{Source: result.SourceNode, Name: res.Node.Name + ":" + path, Cert: chain[0]})
		}}
	sources.Run(ctx, c, []sources.Source{src})
	return targets
}

// verifyKubeconfigTrust checks the served chain against the kubeconfig CA, what kubectl
// trusts: trusted is whether kubectl would talk to this server at all, coveredName a
// name the chain does verify for when only the host is wrong (for the user to choose).
// A missing host is this command's own finding; an unknown CA is reported here.
func (o *SANsOptions) verifyKubeconfigTrust(c *sources.Collector, chain []*x509.Certificate, kubeconfigCA []byte) (trusted bool, coveredName string) {
	if o.target.Rest.Insecure {
		return true, ""
	}
	var pool *x509.CertPool
	if len(kubeconfigCA) > 0 {
		if pool = poolOrNil(kubeconfigCA); pool == nil {
			return false, ""
		}
	}
	name := o.target.Rest.ServerName
	if name == "" {
		_, name, _ = sources.HostPort(o.target.Rest.Host)
	}
	switch p, msg := certs.VerifyChain(chain, pool, name, c.Now); p {
	case certs.ChainOK:
		return true, ""
	case certs.ChainHostname:
		return false, sources.CoveredName(chain, pool, c.Now)
	case certs.ChainUnknownAuthority:
		if pool != nil {
			c.Finding(diagnose.NewVariant(diagnose.CodeUnknownAuthority, "kubeconfig-ca-sans",
				diagnose.Where{Source: result.SourceAPIServer, Subject: o.target.Rest.Host}, diagnose.Params{"err": msg}))
		}
	}
	return false, ""
}

// verifyRootCATrust checks the served chain against kube-root-ca.crt, what every pod trusts.
func (o *SANsOptions) verifyRootCATrust(ctx context.Context, c *sources.Collector, clients *Clients, chain []*x509.Certificate) {
	cm, err := clients.Kube.CoreV1().ConfigMaps("default").Get(ctx, "kube-root-ca.crt", metav1.GetOptions{})
	switch {
	case err == nil:
		pool := poolOrNil([]byte(cm.Data["ca.crt"]))
		if pool == nil {
			return
		}
		if p, msg := certs.VerifyChain(chain, pool, "", c.Now); p == certs.ChainUnknownAuthority {
			c.Finding(diagnose.NewVariant(diagnose.CodeUnknownAuthority, "root-ca",
				diagnose.Where{Source: result.SourceAPIServer, Subject: o.target.Rest.Host}, diagnose.Params{"err": msg}))
		}
	case apierrors.IsForbidden(err):
		c.Finding(diagnose.PermissionDenied("sans", "get", "configmaps", "", "default", err))
	case !apierrors.IsNotFound(err):
		// what pods trust was not compared: say why
		c.Finding(diagnose.FromAPIError("sans", "", fmt.Errorf("get configmaps default/kube-root-ca.crt: %w", err)))
	}
}

func fileTarget(source, path string) (sans.Target, error) {
	data, err := fileio.ReadFile(path)
	if err != nil {
		return sans.Target{}, fmt.Errorf("cannot read certificate: %w", err)
	}
	chain, err := certs.ParseBundle(data)
	if err != nil {
		return sans.Target{}, fmt.Errorf("%s: %w", path, err)
	}
	return sans.Target{Source: source, Name: path, Cert: chain[0]}, nil
}

func poolOrNil(pemData []byte) *x509.CertPool {
	if len(pemData) == 0 {
		return nil
	}
	pool, _, err := certs.PoolOf(pemData)
	if err != nil {
		return nil
	}
	return pool
}

func (o *SANsOptions) usesDebugPods() bool { return !o.Local.Enabled && !o.Nodes.Skip && !o.Only }

func (o *SANsOptions) waitFlags() *WaitFlags { return &o.Wait }

func (o *SANsOptions) undeleted() *nodes.Undeleted { return o.Nodes.Undeleted }
