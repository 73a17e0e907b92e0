package cmd

import (
	"context"
	"crypto/x509"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/kubectl/pkg/util/templates"

	"github.com/certdoctor/kubectl-certdoctor/pkg/certs"
	"github.com/certdoctor/kubectl-certdoctor/pkg/diagnose"
	"github.com/certdoctor/kubectl-certdoctor/pkg/fileio"
	"github.com/certdoctor/kubectl-certdoctor/pkg/result"
	"github.com/certdoctor/kubectl-certdoctor/pkg/sources"
	"github.com/certdoctor/kubectl-certdoctor/pkg/webhook"
)

// InspectOptions are the options of `kubectl certdoctor inspect`.
type InspectOptions struct {
	*CommonOptions
	Window ExpiryWindow
	// File is -f: a PEM or DER certificate file, a bundle, or a kubeconfig.
	File string
	// NoProbe skips the TLS handshake with a webhook's pods (--no-probe).
	NoProbe bool

	kind, name, namespace string
	target                *KubeconfigTarget
	// checks are the webhook walk's links, for inspect webhook.
	checks []result.Check
}

var (
	inspectLong = longDesc(`
		Show one object or file in depth: for each certificate its subject, issuer, serial,
		validity and time left, SANs, public key, signature algorithm, key usages, CA
		constraints, key identifiers and SHA-256 fingerprint; the chain as verified against each
		trust source that applies (the secret's ca.crt, your kubeconfig's CA, kube-root-ca.crt,
		the system roots), saying which verified it; for a secret, whether tls.key matches
		tls.crt (the key itself is never shown); for a webhook configuration, each webhook's
		caBundle and the certificate its pods serve (read through a port-forward, as the webhook
		command does, and verified with the caBundle); and the findings.`)

	inspectExample = templates.Examples(`
		# A TLS secret
		kubectl certdoctor inspect secret web-tls -n ingress

		# The CA bundle a webhook configuration trusts
		kubectl certdoctor inspect webhook cert-manager-webhook

		# A file: PEM or DER, a bundle, or a kubeconfig
		kubectl certdoctor inspect -f /etc/kubernetes/pki/apiserver.crt -o yaml`)
)

// NewCmdInspect builds `inspect`.
func NewCmdInspect(common *CommonOptions) *cobra.Command {
	o := &InspectOptions{CommonOptions: common, Window: defaultExpiryWindow()}
	cmd := &cobra.Command{
		Use:     "inspect (secret|configmap|webhook) NAME | -f FILE",
		Short:   "Show every certificate of one secret, config map, webhook or file in depth",
		Long:    inspectLong,
		Example: inspectExample,
		Args:    cobra.MaximumNArgs(2),
		RunE:    runE(o),
	}
	cmd.Flags().StringVarP(&o.File, "filename", "f", o.File, "A certificate file (PEM or DER), a bundle, or a kubeconfig.")
	cmd.Flags().BoolVar(&o.NoProbe, "no-probe", o.NoProbe, "inspect webhook: do not port-forward to the webhook pods to read the certificate they serve.")
	addExpiryWindowFlag(cmd, &o.Window)
	return cmd
}

var inspectKinds = map[string]string{"secret": "secret", "secrets": "secret", "configmap": "configmap", "configmaps": "configmap", "cm": "configmap",
	"webhook": "webhook", "validatingwebhookconfiguration": "webhook", "mutatingwebhookconfiguration": "webhook"}

// Complete reads the arguments; objects need the kubeconfig, files do not.
func (o *InspectOptions) Complete(cmd *cobra.Command) error {
	args := cmd.Flags().Args()
	if err := o.Window.complete(); err != nil {
		return err
	}
	switch {
	case o.File != "" && len(args) > 0:
		return fmt.Errorf("give an object (secret NAME, configmap NAME, webhook NAME) or -f FILE, not both")
	case o.File != "":
		return nil
	case len(args) == 1 && strings.Contains(args[0], "/"):
		args = strings.SplitN(args[0], "/", 2)
	}
	if len(args) != 2 || args[1] == "" {
		return fmt.Errorf("inspect what? give secret NAME, configmap NAME, webhook NAME, or -f FILE")
	}
	kind, ok := inspectKinds[strings.ToLower(args[0])]
	if !ok {
		return fmt.Errorf("cannot inspect %q: give secret, configmap or webhook", args[0])
	}
	o.kind, o.name = kind, args[1]
	t, err := o.Factory.Kubeconfig()
	if err != nil {
		return err
	}
	o.target = t
	o.namespace = o.namespaceOf(cmd, t)
	return nil
}

// Validate checks the shared flags.
func (o *InspectOptions) Validate() error { return o.CommonOptions.Validate() }

// Run reads the object or file and describes every certificate in it.
func (o *InspectOptions) Run(ctx context.Context) (*result.Report, error) {
	c := sources.NewCollector(o.Now(), o.Window.Within)
	in, err := o.inspect(ctx, c)
	if err != nil {
		return nil, err
	}
	recs, fs, notes := c.Results()
	r := result.NewReport("inspect", c.Now, recs, fs, notes)
	r.Inspection = in
	r.Checks = o.checks
	return r, nil
}

func (o *InspectOptions) inspect(ctx context.Context, c *sources.Collector) (*result.Inspection, error) {
	if o.File != "" {
		return o.file(c)
	}
	if o.target.Rest == nil {
		return nil, o.target.RestErr
	}
	clients, err := o.Factory.ClientsFor(o.target.Rest)
	if err != nil {
		return nil, err
	}
	switch o.kind {
	case "secret":
		return o.secret(ctx, c, clients)
	case "configmap":
		return o.configMap(ctx, c, clients)
	}
	return o.webhook(ctx, c, clients)
}

// trust is a source of roots to verify against.
type trust struct {
	name string
	pool *x509.CertPool // nil: the system roots
}

func (o *InspectOptions) secret(ctx context.Context, c *sources.Collector, cl *Clients) (*result.Inspection, error) {
	sec, err := cl.Kube.CoreV1().Secrets(o.namespace).Get(ctx, o.name, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("secret %s/%s: %w", o.namespace, o.name, err)
	}
	in := &result.Inspection{Object: "secret " + o.namespace + "/" + o.name}
	(&sources.TLSSecrets{Client: cl.Kube}).Secret(c, sec)
	chain := o.details(c, in, sec.Data, corev1.TLSCertKey, "ca.crt")
	if len(chain) == 0 {
		return in, nil
	}
	if key, ok := sec.Data[corev1.TLSPrivateKeyKey]; ok {
		in.KeyPair = "match"
		if certs.CheckKeyPair(chain[0].PublicKey, key) != nil {
			in.KeyPair = "mismatch" // the finding says why
		}
	}
	var roots []trust
	if pool := poolOrNil(sec.Data["ca.crt"]); pool != nil {
		roots = append(roots, trust{"ca.crt of the secret", pool})
	}
	roots = append(roots, o.clusterTrust(ctx, cl)...)
	in.Verifications = verifications(chain, roots, c.Now)
	return in, nil
}

func (o *InspectOptions) configMap(ctx context.Context, c *sources.Collector, cl *Clients) (*result.Inspection, error) {
	cm, err := cl.Kube.CoreV1().ConfigMaps(o.namespace).Get(ctx, o.name, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("configmap %s/%s: %w", o.namespace, o.name, err)
	}
	in := &result.Inspection{Object: "configmap " + o.namespace + "/" + o.name}
	data := map[string][]byte{}
	var keys []string
	for k, v := range cm.Data {
		data[k] = []byte(v)
		keys = append(keys, k)
	}
	for k, v := range cm.BinaryData {
		data[k] = v
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if chain := o.details(c, in, data, k); len(chain) > 0 {
			c.AddBundle(sources.DescribeAll(chain), result.Record{Source: result.SourceConfigMap, Name: o.namespace + "/" + o.name, Location: in.Object + " " + k},
				diagnose.CertContext{IsCA: true, Namespace: o.namespace, Name: o.name, Key: k, TrustBundle: sources.TrustBundleOf(cm.Labels)})
		}
	}
	if len(in.Certificates) == 0 {
		c.Note("%s holds no certificate", in.Object)
	}
	return in, nil
}

// webhook describes a webhook configuration's caBundles and what each webhook serves,
// judged by the walk the webhook command makes (without its dry-run requests): the walk
// verifies the served certificate as the API server does, for <service>.<namespace>.svc.
func (o *InspectOptions) webhook(ctx context.Context, c *sources.Collector, cl *Clients) (*result.Inspection, error) {
	adm := cl.Kube.AdmissionregistrationV1()
	kind := "ValidatingWebhookConfiguration"
	in := &result.Inspection{Object: "validatingwebhookconfiguration " + o.name}
	if _, err := adm.ValidatingWebhookConfigurations().Get(ctx, o.name, metav1.GetOptions{}); err != nil {
		if _, merr := adm.MutatingWebhookConfigurations().Get(ctx, o.name, metav1.GetOptions{}); merr != nil {
			return nil, fmt.Errorf("webhook configuration %s: %w", o.name, err)
		}
		kind, in.Object = "MutatingWebhookConfiguration", "mutatingwebhookconfiguration "+o.name
	}
	targets, err := webhook.Discover(ctx, cl.Kube, nil, nil, func(k, name string) bool { return k == kind && name == o.name })
	if err != nil {
		return nil, err
	}
	walker := &webhook.Walker{Client: cl.Kube, Dynamic: cl.Dynamic, Now: c.Now}
	served := &servedRecorder{}
	if !o.NoProbe {
		served.Prober = &webhook.PortForwarder{Config: o.target.Rest, Client: cl.Kube, Timeout: 10 * time.Second}
		walker.Prober = served
	}
	var walked webhook.Result
	for i, t := range targets {
		key := fmt.Sprintf("webhooks[%d] %s", i, t.Webhook)
		bundle := o.details(c, in, map[string][]byte{key + " caBundle": t.ClientConfig.CABundle}, key+" caBundle")
		if len(bundle) > 0 {
			c.AddJudged(sources.DescribeAll(bundle), result.Record{Source: result.SourceWebhook, Name: o.name, Location: in.Object + " " + key + " caBundle"},
				diagnose.CertContext{IsCA: true, Name: o.name, Webhook: t.Webhook, Key: key + " caBundle"})
		}
		served.chain = nil
		walker.Walk(ctx, t, &walked)
		if served.chain == nil {
			continue
		}
		for j, cert := range served.chain {
			in.Certificates = append(in.Certificates, certs.Detail(cert, fmt.Sprintf("%s served[%d]", key, j), c.Now, c.WarnWithin))
		}
		if pool := poolOrNil(t.ClientConfig.CABundle); pool != nil {
			in.Verifications = append(in.Verifications, verifications(served.chain, []trust{{"caBundle of " + key, pool}}, c.Now)...)
		}
	}
	for _, f := range walked.Findings {
		c.Finding(f)
	}
	o.checks = walked.Checks
	if o.NoProbe {
		c.Note("--no-probe: the certificates the webhooks serve were not read")
	}
	return in, nil
}

// servedRecorder keeps the chain the walk's TLS handshake received.
type servedRecorder struct {
	webhook.Prober
	chain []*x509.Certificate
}

func (r *servedRecorder) Served(ctx context.Context, pod *corev1.Pod, port int32, serverName string) ([]*x509.Certificate, time.Duration, error) {
	chain, rtt, err := r.Prober.Served(ctx, pod, port, serverName)
	if err == nil {
		r.chain = chain
	}
	return chain, rtt, err
}

func (o *InspectOptions) file(c *sources.Collector) (*result.Inspection, error) {
	data, err := fileio.ReadFile(o.File)
	if err != nil {
		return nil, err
	}
	in := &result.Inspection{Object: o.File}
	if kc, err := clientcmd.Load(data); err == nil && (len(kc.Clusters) > 0 || len(kc.AuthInfos) > 0) {
		fields := map[string][]byte{}
		var keys []string
		for name, cl := range kc.Clusters {
			k := "clusters[" + name + "].certificate-authority-data"
			fields[k], keys = cl.CertificateAuthorityData, append(keys, k)
		}
		for name, u := range kc.AuthInfos {
			k := "users[" + name + "].client-certificate-data"
			fields[k], keys = u.ClientCertificateData, append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if len(fields[k]) > 0 {
				if chain := o.details(c, in, fields, k); len(chain) > 0 {
					c.AddChain(sources.DescribeAll(chain), result.Record{Source: "file", Name: o.File, Location: o.File + " " + k},
						diagnose.CertContext{IsCA: strings.HasPrefix(k, "clusters[")})
				}
			}
		}
		return in, nil
	}
	chain := o.details(c, in, map[string][]byte{"": data}, "")
	if len(chain) == 0 {
		return nil, fmt.Errorf("%s holds no certificate (PEM or DER)", o.File)
	}
	c.AddChain(sources.DescribeAll(chain), result.Record{Source: "file", Name: o.File, Location: o.File}, diagnose.CertContext{IsCA: chain[0].IsCA})
	roots := []trust{{"system roots", nil}}
	if last := chain[len(chain)-1]; len(chain) > 1 && certs.SelfSigned(last) {
		pool := x509.NewCertPool()
		pool.AddCert(last)
		roots = append([]trust{{"the file's own root", pool}}, roots...)
	}
	if t, err := o.Factory.Kubeconfig(); err == nil && t.Rest != nil {
		roots = append(kubeconfigTrust(t.Rest), roots...)
	}
	in.Verifications = verifications(chain, roots, c.Now)
	return in, nil
}

// details adds the certificates under keys of data to in and returns the first key's
// chain (the one to verify). Data that holds no certificate is a finding.
func (o *InspectOptions) details(c *sources.Collector, in *result.Inspection, data map[string][]byte, keys ...string) []*x509.Certificate {
	var first []*x509.Certificate
	for i, k := range keys {
		raw, ok := data[k]
		if !ok {
			continue
		}
		chain, err := certs.ParseBundle(raw)
		if err != nil {
			if i == 0 && o.File == "" && o.kind != "configmap" {
				c.Note("%s %s: %v", in.Object, k, err)
			}
			continue
		}
		for j, cert := range chain {
			where := fmt.Sprintf("%s[%d]", k, j)
			if k == "" {
				where = fmt.Sprintf("[%d]", j)
			}
			in.Certificates = append(in.Certificates, certs.Detail(cert, where, c.Now, c.WarnWithin))
		}
		if i == 0 {
			first = chain
		}
	}
	return first
}

// clusterTrust are what clients of the cluster trust: the kubeconfig's CA (what kubectl
// trusts), kube-root-ca.crt (what pods trust), and the system roots.
func (o *InspectOptions) clusterTrust(ctx context.Context, cl *Clients) []trust {
	out := kubeconfigTrust(o.target.Rest)
	if cm, err := cl.Kube.CoreV1().ConfigMaps(o.namespace).Get(ctx, "kube-root-ca.crt", metav1.GetOptions{}); err == nil {
		if pool := poolOrNil([]byte(cm.Data["ca.crt"])); pool != nil {
			out = append(out, trust{"kube-root-ca.crt", pool})
		}
	}
	return append(out, trust{"system roots", nil})
}

// kubeconfigTrust is what kubectl trusts with cfg: its CA, when it has a readable one.
func kubeconfigTrust(cfg *rest.Config) []trust {
	ca, err := caData(cfg)
	if err != nil {
		return nil
	}
	if pool := poolOrNil(ca); pool != nil {
		return []trust{{"kubeconfig CA", pool}}
	}
	return nil
}

func verifications(chain []*x509.Certificate, roots []trust, now time.Time) []result.Verification {
	var out []result.Verification
	for _, r := range roots {
		v := result.Verification{Against: r.name, Result: result.Verified}
		path, err := certs.VerifyAgainstRoots(chain, r.pool, now)
		if err != nil {
			v.Result, v.Error = result.NotVerified, err.Error()
		}
		v.Chain = path
		out = append(out, v)
	}
	return out
}
