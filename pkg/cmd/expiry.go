package cmd

import (
	"context"
	"fmt"
	"net"
	"os"
	"time"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/rest"
	"k8s.io/kubectl/pkg/util/templates"

	"github.com/certdoctor/kubectl-certdoctor/pkg/diagnose"
	"github.com/certdoctor/kubectl-certdoctor/pkg/identity"
	"github.com/certdoctor/kubectl-certdoctor/pkg/nodes"
	"github.com/certdoctor/kubectl-certdoctor/pkg/result"
	"github.com/certdoctor/kubectl-certdoctor/pkg/sources"
)

// LocalFlags select a kubeadm control plane's files for --local.
type LocalFlags struct {
	Enabled       bool
	PKIDir        string
	KubeconfigDir string
	KubeletPKIDir string
}

func defaultLocalFlags() LocalFlags {
	return LocalFlags{PKIDir: sources.DefaultPKIDir, KubeconfigDir: sources.DefaultKubeconfigDir, KubeletPKIDir: sources.DefaultKubeletPKIDir}
}

// addLocalFlags binds --local and the directories it reads.
func addLocalFlags(cmd *cobra.Command, l *LocalFlags) {
	f := cmd.Flags()
	f.BoolVar(&l.Enabled, "local", l.Enabled, "Read a kubeadm control plane's certificate files on this machine instead of asking the cluster.")
	f.StringVar(&l.PKIDir, "pki-dir", l.PKIDir, "With --local: the kubeadm certificates directory.")
	f.StringVar(&l.KubeconfigDir, "kubeconfig-dir", l.KubeconfigDir, "With --local: where admin.conf, controller-manager.conf, scheduler.conf and kubelet.conf are.")
	f.StringVar(&l.KubeletPKIDir, "kubelet-pki-dir", l.KubeletPKIDir, "With --local: the kubelet's certificate directory.")
}

// complete rejects local-only flags given without --local.
func (l *LocalFlags) complete(cmd *cobra.Command, extra ...string) error {
	for _, name := range append([]string{"pki-dir", "kubeconfig-dir", "kubelet-pki-dir"}, extra...) {
		if cmd.Flags().Changed(name) && !l.Enabled {
			return fmt.Errorf("--%s only applies with --local", name)
		}
	}
	return nil
}

// ExpiryOptions are the options of `kubectl certdoctor expiry`.
type ExpiryOptions struct {
	*CommonOptions
	Window ExpiryWindow
	Local  LocalFlags
	Nodes  NodeFlags
	// Opaque adds the certificate files (.crt, .pem keys) of Opaque secrets (--opaque).
	Opaque bool
	Wait   WaitFlags

	// served answers what local components serve; nil dials this machine (tests replace it).
	served sources.ServedFunc

	// Filled by Complete.
	namespace string
	target    *KubeconfigTarget
}

var (
	expiryLong = longDesc(`
		Show every certificate the cluster depends on, when it expires, and what to do about
		the ones that have expired or soon will.

		Sources: your kubeconfig's client certificate and CA (checked even when the cluster
		is down); the certificate the API server presents, with each verification problem
		named (expired, not yet valid, unknown authority, not valid for the host); TLS secrets
		and their ca.crt; kube-root-ca.crt; the caBundles of webhooks, APIServices and CRD
		conversion webhooks; cert-manager Certificates; kubeconfigs kept in secrets (admin
		clusters hold one per managed cluster); certificate signing requests that nobody
		approves (a kubelet's serving or client request), denied, or no signer issues; the
		serving certificate each Ready node's kubelet presents (a TLS handshake only); the CA
		bundles trust-manager's Bundles and ClusterBundles write and, with --opaque, the .crt
		and .pem files of Opaque secrets, each judged as a set and against the TLS secrets of
		its namespace.

		With --local, read a kubeadm control-plane node's files instead (for when the API
		server is already down), print them as kubeadm certs check-expiration does, and
		check that the running components serve the certificates on disk.`)

	expiryExample = templates.Examples(`
		# Everything the current context depends on
		kubectl certdoctor expiry

		# Only one namespace's secrets, warning 60 days ahead, as JSON
		kubectl certdoctor expiry -n ingress --warn-within 60d -o json

		# On a control-plane node whose API server no longer answers
		sudo kubectl certdoctor expiry --local`)
)

// NewExpiryOptions returns the options with their defaults.
func NewExpiryOptions(common *CommonOptions) *ExpiryOptions {
	return &ExpiryOptions{CommonOptions: common, Window: defaultExpiryWindow(), Local: defaultLocalFlags(), Nodes: NodeFlags{Options: nodes.DefaultOptions()},
		Wait: defaultWaitFlags()}
}

// NewCmdExpiry builds `expiry`.
func NewCmdExpiry(common *CommonOptions) *cobra.Command {
	o := NewExpiryOptions(common)
	cmd := &cobra.Command{
		Use:     "expiry",
		Short:   "List every certificate the cluster depends on and when it expires",
		Long:    expiryLong,
		Example: expiryExample,
		Args:    cobra.NoArgs,
		RunE:    runE(o),
	}
	addExpiryWindowFlag(cmd, &o.Window)
	addLocalFlags(cmd, &o.Local)
	addNodeFlags(cmd, &o.Nodes)
	addOpaqueFlag(cmd, o)
	addWaitFlags(cmd, &o.Wait)
	return cmd
}

func addOpaqueFlag(cmd *cobra.Command, o *ExpiryOptions) {
	cmd.Flags().BoolVar(&o.Opaque, "opaque", o.Opaque, "Also read the certificate files (keys ending in .crt or .pem) of Opaque secrets, as trust bundles.")
}

// Complete resolves flags and, unless --local, the kubeconfig context.
func (o *ExpiryOptions) Complete(cmd *cobra.Command) error {
	if err := o.Window.complete(); err != nil {
		return err
	}
	if err := o.Local.complete(cmd); err != nil {
		return err
	}
	if o.Local.Enabled {
		if o.Opaque {
			return fmt.Errorf("--opaque reads secrets from the cluster: it does not apply with --local")
		}
		return nil
	}
	o.namespace = o.namespaceFlag(cmd)
	t, err := o.Factory.Kubeconfig()
	o.target = t
	return err
}

func (o *ExpiryOptions) usesDebugPods() bool { return !o.Local.Enabled && !o.Nodes.Skip }

// Validate checks flag values without touching the cluster.
func (o *ExpiryOptions) Validate() error {
	if err := o.CommonOptions.Validate(); err != nil {
		return err
	}
	if err := o.Wait.validate(); err != nil {
		return err
	}
	return o.Nodes.validate()
}

// Run collects from every source and returns the report.
func (o *ExpiryOptions) Run(ctx context.Context) (*result.Report, error) {
	c := sources.NewCollector(o.Now(), o.Window.Within)
	if o.Local.Enabled {
		if err := o.localSource().Collect(ctx, c); err != nil {
			return nil, err
		}
	} else {
		o.collectCluster(ctx, c)
	}
	recs, fs, notes := c.Results()
	return result.NewReport("expiry", c.Now, recs, fs, notes), nil
}

func (o *ExpiryOptions) localSource() *sources.KubeadmPKI {
	node, _ := os.Hostname()
	files := sources.OSFiles{}
	served := o.served
	if served == nil {
		served = sources.LocalServed(files, o.Local.KubeconfigDir, 3*time.Second)
	}
	return &sources.KubeadmPKI{SourceName: result.SourceLocal, Node: node, Files: files,
		PKIDir: o.Local.PKIDir, KubeconfigDir: o.Local.KubeconfigDir, KubeletPKIDir: o.Local.KubeletPKIDir,
		Served: served}
}

// collectCluster checks the kubeconfig, then the API server's certificate, then, if
// the server is reachable, trusted and accepts the credentials, the cluster's objects.
// Each gate that fails is one finding, not one per source.
func (o *ExpiryOptions) collectCluster(ctx context.Context, c *sources.Collector) {
	t := o.target
	kc := &sources.Kubeconfig{Config: t.Raw, ContextName: t.ContextName, UserName: t.UserName, ClusterName: t.ClusterName, ClientErr: clientErr(t), LeftOut: leftOut(t)}
	sources.Run(ctx, c, []sources.Source{kc})
	reportCredentials(c, t, kc.Broken)
	if t.Rest == nil {
		c.Finding(unusableKubeconfig(t))
		c.Note("cluster objects were not checked: the kubeconfig is not usable")
		return
	}
	ca, err := caData(t.Rest)
	if err != nil {
		c.Note("cannot read the kubeconfig's CA file %s: %v", t.Rest.CAFile, err)
	}
	api := &sources.APIServer{Server: t.Rest.Host, ServerName: t.Rest.ServerName, CAData: ca,
		Insecure: t.Rest.Insecure, Timeout: min(t.Rest.Timeout, defaultDialTimeout)}
	sources.Run(ctx, c, []sources.Source{api})
	switch {
	case !api.Reached:
		c.Note("cluster objects were not checked: the API server did not answer")
		return
	case t.CredErr != nil:
		c.Note("cluster objects were not checked: the kubeconfig's credentials cannot be used (see findings)")
		return
	case !api.Trusted && !t.Rest.Insecure:
		c.Note("%s", untrustedNote(api.CoveredName))
		return
	}
	clients, ok := o.reach(ctx, c, t.Rest)
	if !ok {
		return
	}
	sources.Run(ctx, c, o.clusterSources(clients))
}

// untrustedNote says why nothing was asked of a server whose certificate kubectl would
// refuse, and how the user can look anyway: certdoctor never relaxes verification itself.
func untrustedNote(coveredName string) string {
	if coveredName != "" {
		return "cluster objects were not checked: the certificate does not cover the kubeconfig's host; " +
			"to look at the cluster anyway, re-run with --tls-server-name " + coveredName
	}
	return "cluster objects were not checked: kubectl would refuse this API server's certificate too (see findings); " +
		"to look anyway, add --insecure-skip-tls-verify"
}

// reach builds the clients for cfg and asks the server its version, under ctx and the
// request timeout: a server that refuses or does not answer is one finding, and the
// checks that need it are not run one timeout after another.
func (o *CommonOptions) reach(ctx context.Context, c *sources.Collector, cfg *rest.Config) (*Clients, bool) {
	clients, err := o.Factory.ClientsFor(cfg)
	if err != nil {
		c.Note("cannot build a client: %v", err)
		return nil, false
	}
	if err := sources.ServerVersion(ctx, clients.Discovery); err != nil {
		c.Finding(o.apiError(cfg, err, c.Now))
		c.Note("cluster objects were not checked: the first request to the API server failed (see findings)")
		return nil, false
	}
	return clients, true
}

// apiError is the finding for the first request's error; a 401 comes with the renewal or
// login fix for the credential the context presents.
func (o *CommonOptions) apiError(cfg *rest.Config, err error, now time.Time) result.Finding {
	var id *result.Identity
	if t, terr := o.Factory.Kubeconfig(); terr == nil && apierrors.IsUnauthorized(err) {
		id = t.identity() // only a 401 needs what the context presents
	}
	return apiErrorAs(id, cfg, err, now)
}

// apiErrorAs is apiError for a command that has read the context's identity already.
func apiErrorAs(id *result.Identity, cfg *rest.Config, err error, now time.Time) result.Finding {
	if id != nil && apierrors.IsUnauthorized(err) {
		return identity.Unauthorized(id, err, now)
	}
	return diagnose.FromAPIError(result.SourceAPIServer, cfg.Host, err)
}

// unusableKubeconfig is the finding for a context that cannot be turned into a client.
func unusableKubeconfig(t *KubeconfigTarget) result.Finding {
	return diagnose.NewVariant(diagnose.CodeKubeconfigInvalid, "context",
		diagnose.Where{Source: result.SourceKubeconfig, Subject: "context " + t.ContextName}, diagnose.Params{"err": t.RestErr})
}

func (o *ExpiryOptions) clusterSources(cl *Clients) []sources.Source {
	var node []sources.Source
	if !o.Nodes.Skip {
		node = append(node, &nodes.Source{APIServerPort: serverPort(o.target.Rest.Host),
			Runner:    &nodes.Runner{Client: cl.Kube, Opts: o.Nodes.Options, Progress: progressWriter(o.CommonOptions)},
			Published: func(ctx context.Context) sources.Published { return sources.FetchPublished(ctx, cl.Discovery) }})
	}
	return append(node,
		&sources.TLSSecrets{Client: cl.Kube, Namespace: o.namespace},
		&sources.RootCAConfigMaps{Client: cl.Kube, Namespace: o.namespace},
		&sources.CABundles{Client: cl.Kube, Aggregator: cl.Aggregator, APIExt: cl.APIExt},
		&sources.CertManager{Discovery: cl.Discovery, Dynamic: cl.Dynamic, Namespace: o.namespace},
		&sources.TrustBundles{Client: cl.Kube, Discovery: cl.Discovery, Dynamic: cl.Dynamic, Namespace: o.namespace, Opaque: o.Opaque},
		&sources.KubeconfigSecrets{Client: cl.Kube, Metadata: cl.Metadata, Namespace: o.namespace},
		&sources.CSRs{Client: cl.Kube},
		o.kubeletServing(cl),
	)
}

// kubeletServing is the kubelet source, trusting the kubeconfig's CA (an unreadable CA
// file was noted by collectCluster already).
func (o *ExpiryOptions) kubeletServing(cl *Clients) *sources.KubeletServing {
	ca, _ := caData(o.target.Rest)
	return &sources.KubeletServing{Client: cl.Kube, CAData: ca}
}

// serverPort is the port of a server URL, the API server's port on the nodes too.
func serverPort(server string) string {
	addr, _, err := sources.HostPort(server)
	if err != nil {
		return ""
	}
	_, port, _ := net.SplitHostPort(addr)
	return port
}

func (o *ExpiryOptions) waitFlags() *WaitFlags { return &o.Wait }

func (o *ExpiryOptions) undeleted() *nodes.Undeleted { return o.Nodes.Undeleted }
