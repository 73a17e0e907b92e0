package sources

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/certdoctor/kubectl-certdoctor/pkg/certs"
	"github.com/certdoctor/kubectl-certdoctor/pkg/diagnose"
	"github.com/certdoctor/kubectl-certdoctor/pkg/fileio"
	"github.com/certdoctor/kubectl-certdoctor/pkg/result"
)

// Files is a node's file system as certdoctor sees it: certificate files are read
// whole; key files are only ever tested for existence.
type Files interface {
	ReadFile(path string) ([]byte, error) // an error satisfying errors.Is(err, os.ErrNotExist) when absent
	Exists(path string) bool
}

// OSFiles reads the local file system.
type OSFiles struct{}

func (OSFiles) ReadFile(p string) ([]byte, error) { return fileio.ReadFile(p) }
func (OSFiles) Exists(p string) bool              { _, err := os.Stat(p); return err == nil }

// Default kubeadm locations.
const (
	DefaultPKIDir        = "/etc/kubernetes/pki"
	DefaultKubeconfigDir = "/etc/kubernetes"
	DefaultKubeletPKIDir = "/var/lib/kubelet/pki"
)

// kubeadmCert is one row of `kubeadm certs check-expiration`.
type kubeadmCert struct {
	name, file, ca string
	kubeconfig     bool
	etcd           bool
}

// kubeadmCerts are kubeadm's certificates, in kubeadm's order (by name).
var kubeadmCerts = []kubeadmCert{
	{name: "admin.conf", file: "admin.conf", ca: "ca", kubeconfig: true},
	{name: "apiserver", file: "apiserver.crt", ca: "ca"},
	{name: "apiserver-etcd-client", file: "apiserver-etcd-client.crt", ca: "etcd-ca"},
	{name: "apiserver-kubelet-client", file: "apiserver-kubelet-client.crt", ca: "ca"},
	{name: "controller-manager.conf", file: "controller-manager.conf", ca: "ca", kubeconfig: true},
	{name: "etcd-healthcheck-client", file: "etcd/healthcheck-client.crt", ca: "etcd-ca", etcd: true},
	{name: "etcd-peer", file: "etcd/peer.crt", ca: "etcd-ca", etcd: true},
	{name: "etcd-server", file: "etcd/server.crt", ca: "etcd-ca", etcd: true},
	{name: "front-proxy-client", file: "front-proxy-client.crt", ca: "front-proxy-ca"},
	{name: "scheduler.conf", file: "scheduler.conf", ca: "ca", kubeconfig: true},
	{name: "super-admin.conf", file: "super-admin.conf", ca: "ca", kubeconfig: true},
}

// kubeadmCAs are kubeadm's certificate authorities and their file base names.
var kubeadmCAs = []struct{ name, base string }{
	{"ca", "ca"}, {"etcd-ca", "etcd/ca"}, {"front-proxy-ca", "front-proxy-ca"},
}

// ServedFunc returns the chain a component serves on the node, and where it asked.
// component is "kube-apiserver", "etcd" or "kubelet"; onDisk is the certificate the
// component should be serving (its SANs tell where to look).
type ServedFunc func(ctx context.Context, component string, onDisk *x509.Certificate) (chain []*x509.Certificate, where string, err error)

// KubeadmPKI reports a kubeadm control plane's certificates from its files: everything
// `kubeadm certs check-expiration` shows, plus the kubelet's certificates, whether each
// is signed by the CA it should be, and whether the running components serve what is on disk.
type KubeadmPKI struct {
	SourceName                           string // result.SourceLocal or result.SourceNode
	Node                                 string
	Files                                Files
	PKIDir, KubeconfigDir, KubeletPKIDir string
	// Served, when set, is asked what kube-apiserver, etcd and the kubelet serve.
	Served ServedFunc
	// KubeletOnly reads only the kubelet's files: a worker node has no control-plane PKI.
	KubeletOnly bool
}

func (k *KubeadmPKI) Name() string { return k.SourceName }

// Collect implements Source.
func (k *KubeadmPKI) Collect(ctx context.Context, c *Collector) error {
	cas := map[string]*x509.Certificate{}
	etcdLocal := k.Files.Exists(filepath.Join(k.PKIDir, "etcd"))
	if k.KubeletOnly {
		ca, _ := k.caOnly()
		served := map[string]*x509.Certificate{}
		k.kubelet(c, ca, served)
		k.compareAll(ctx, c, served)
		return nil
	}
	if !k.Files.Exists(k.PKIDir) {
		return fmt.Errorf("PKI directory %s not found: is this a kubeadm control-plane node? (set --pki-dir)", k.PKIDir)
	}
	if !k.Files.Exists(filepath.Join(k.PKIDir, "ca.crt")) && !k.Files.Exists(filepath.Join(k.PKIDir, "apiserver.crt")) {
		// Nothing of kubeadm's layout at all: the wrong directory, not nine missing files.
		return fmt.Errorf("%s holds neither ca.crt nor apiserver.crt: is this a kubeadm control-plane node? (set --pki-dir)", k.PKIDir)
	}
	for _, ca := range kubeadmCAs {
		if ca.name == "etcd-ca" && !etcdLocal {
			c.Note("no %s/etcd directory: etcd is external, its certificates are not checked here", k.PKIDir)
			continue
		}
		path := filepath.Join(k.PKIDir, ca.base+".crt")
		external := !k.Files.Exists(filepath.Join(k.PKIDir, ca.base+".key"))
		if leaf := k.file(c, path, &result.KubeadmRow{Table: result.TableAuthorities, Name: ca.name, IsCA: true, ExternallyManaged: external}); leaf != nil {
			cas[ca.name] = leaf
		}
	}
	served := map[string]*x509.Certificate{}
	for _, kc := range kubeadmCerts {
		if kc.etcd && !etcdLocal {
			continue
		}
		// kubeadm's rule: a CA whose certificate is present without its key is external.
		external := k.Files.Exists(filepath.Join(k.PKIDir, caBase(kc.ca)+".crt")) &&
			!k.Files.Exists(filepath.Join(k.PKIDir, caBase(kc.ca)+".key"))
		row := &result.KubeadmRow{Table: result.TableCertificates, Name: kc.name, CAName: kc.ca, ExternallyManaged: external}
		var leaf *x509.Certificate
		if kc.kubeconfig {
			leaf = k.kubeconfigFile(c, filepath.Join(k.KubeconfigDir, kc.file), row)
		} else {
			leaf = k.file(c, filepath.Join(k.PKIDir, kc.file), row)
		}
		k.checkIssuer(c, kc.name, leaf, cas[kc.ca], kc.ca)
		switch kc.name {
		case "apiserver":
			served["kube-apiserver"] = leaf
		case "etcd-server":
			served["etcd"] = leaf
		}
	}
	k.kubelet(c, cas["ca"], served)
	k.compareAll(ctx, c, served)
	return nil
}

// caOnly reads the cluster CA a worker keeps (pki/ca.crt), to check the kubelet's
// client certificate against it, without recording it.
func (k *KubeadmPKI) caOnly() (*x509.Certificate, error) {
	data, err := k.Files.ReadFile(filepath.Join(k.PKIDir, "ca.crt"))
	if err != nil {
		return nil, err
	}
	chain, err := certs.ParseBundle(data)
	if err != nil {
		return nil, err
	}
	return chain[0], nil
}

func (k *KubeadmPKI) compareAll(ctx context.Context, c *Collector, served map[string]*x509.Certificate) {
	if k.Served == nil {
		return
	}
	for _, comp := range []string{"kube-apiserver", "etcd", "kubelet"} {
		if disk := served[comp]; disk != nil {
			k.compareServed(ctx, c, comp, disk)
		}
	}
}

func caBase(name string) string {
	for _, ca := range kubeadmCAs {
		if ca.name == name {
			return ca.base
		}
	}
	return name
}

// kubelet reports kubelet.conf and the kubelet's own PKI, which kubeadm does not show.
func (k *KubeadmPKI) kubelet(c *Collector, ca *x509.Certificate, served map[string]*x509.Certificate) {
	conf := filepath.Join(k.KubeconfigDir, "kubelet.conf")
	if k.Files.Exists(conf) {
		leaf := k.kubeconfigFile(c, conf, &result.KubeadmRow{Table: result.TableKubelet, Name: "kubelet.conf", CAName: "ca"})
		k.checkIssuer(c, "kubelet.conf", leaf, ca, "ca")
	}
	if leaf := k.optional(c, "kubelet-client-current.pem", ca); leaf != nil {
		k.checkIssuer(c, "kubelet-client-current.pem", leaf, ca, "ca")
	}
	// The serving certificate: from the CSR API (serverTLSBootstrap, signed by the
	// cluster CA) or made by the kubelet at first start (self-signed) or by hand.
	if leaf := k.optional(c, "kubelet-server-current.pem", ca); leaf != nil {
		served["kubelet"] = leaf
	} else if leaf := k.optional(c, "kubelet.crt", ca); leaf != nil {
		served["kubelet"] = leaf
	}
}

// optional records a kubelet file if it exists, naming its CA by what signed it.
func (k *KubeadmPKI) optional(c *Collector, file string, ca *x509.Certificate) *x509.Certificate {
	path := filepath.Join(k.KubeletPKIDir, file)
	if !k.Files.Exists(path) {
		return nil
	}
	row := &result.KubeadmRow{Table: result.TableKubelet, Name: file}
	leaf := k.file(c, path, row)
	switch {
	case leaf == nil:
	case certs.SignedBy(leaf, ca):
		row.CAName = "ca"
	case certs.SignedBy(leaf, leaf):
		row.CAName = "self-signed"
	default:
		row.CAName = leaf.Issuer.CommonName
	}
	return leaf
}

// file records the certificate at path (the first of its chain is returned).
func (k *KubeadmPKI) file(c *Collector, path string, row *result.KubeadmRow) *x509.Certificate {
	data, err := k.Files.ReadFile(path)
	return k.record(c, path, data, err, row)
}

// kubeconfigFile records the client certificate of a kubeconfig file's current user,
// following a client-certificate path (kubelet.conf points into the kubelet's PKI dir).
func (k *KubeadmPKI) kubeconfigFile(c *Collector, path string, row *result.KubeadmRow) *x509.Certificate {
	data, err := k.Files.ReadFile(path)
	if err != nil {
		return k.record(c, path, nil, err, row)
	}
	cfg, err := clientcmd.Load(data)
	if err != nil {
		return k.record(c, path, nil, fmt.Errorf("not a kubeconfig: %w", err), row)
	}
	ai := cfg.AuthInfos[currentUser(cfg)]
	if ai == nil {
		return k.record(c, path, nil, errors.New("no user for the current context"), row)
	}
	if len(ai.ClientCertificateData) > 0 {
		return k.record(c, path, ai.ClientCertificateData, nil, row)
	}
	if ai.ClientCertificate == "" {
		return k.record(c, path, nil, errors.New("no client certificate"), row)
	}
	certPath := ai.ClientCertificate
	if rel, ok := strings.CutPrefix(certPath, DefaultKubeletPKIDir+"/"); ok {
		certPath = filepath.Join(k.KubeletPKIDir, rel) // honour --kubelet-pki-dir
	}
	data, err = k.Files.ReadFile(certPath)
	return k.record(c, path+" -> "+certPath, data, err, row)
}

// currentUser is the user of the current context, or the only user of a kubeconfig without one.
func currentUser(cfg *clientcmdapi.Config) string {
	if ctx := cfg.Contexts[cfg.CurrentContext]; ctx != nil {
		return ctx.AuthInfo
	}
	if len(cfg.AuthInfos) == 1 {
		for name := range cfg.AuthInfos {
			return name
		}
	}
	return ""
}

func (k *KubeadmPKI) record(c *Collector, path string, data []byte, err error, row *result.KubeadmRow) *x509.Certificate {
	base := result.Record{Source: k.SourceName, Name: row.Name, Location: path, Node: k.Node, Kubeadm: row}
	cctx := diagnose.CertContext{KubeadmName: row.Name, IsCA: row.IsCA, Node: k.Node, Subject: k.subject(path)}
	if errors.Is(err, os.ErrNotExist) {
		base.Status = result.StatusMissing
		c.Add(base, cctx)
		return nil
	}
	if err == nil {
		var chain []*x509.Certificate
		if chain, err = certs.ParseBundle(data); err == nil {
			infos := DescribeAll(chain[:1]) // kubeadm files hold one certificate; a bundle's extras are CAs checked elsewhere
			base.CertInfo = infos[0]
			c.Add(base, cctx)
			return chain[0]
		}
	}
	base.Status = result.StatusInvalid
	c.Add(base, cctx)
	cctx.Source = k.SourceName
	c.Finding(diagnose.InvalidKubeadmFile(cctx, err))
	return nil
}

func (k *KubeadmPKI) subject(path string) string {
	if k.Node != "" && k.SourceName == result.SourceNode {
		return k.Node + ":" + path
	}
	return path
}

func (k *KubeadmPKI) checkIssuer(c *Collector, name string, leaf, ca *x509.Certificate, caName string) {
	if leaf == nil || ca == nil {
		return
	}
	err := certs.SignatureFrom(leaf, ca)
	var insecure x509.InsecureAlgorithmError
	switch {
	case err == nil:
		return
	case errors.As(err, &insecure):
		// The right CA signed it, with an algorithm Go clients refuse: not a wrong issuer.
		c.Finding(diagnose.New(diagnose.CodeInsecureSignature, diagnose.Where{Source: k.SourceName, Subject: k.subject(name)},
			diagnose.Params{"name": name, "issuer": caName, "algorithm": leaf.SignatureAlgorithm.String(), "kubeadmName": name,
				"err": certs.VerifyAgainst(leaf, ca)}))
		return
	}
	c.Finding(diagnose.New(diagnose.CodeWrongIssuer, diagnose.Where{Source: k.SourceName, Subject: k.subject(name)},
		diagnose.Params{"name": name, "caName": caName, "issuer": leaf.Issuer.CommonName, "caSubject": ca.Subject.CommonName, "pkiDir": k.PKIDir}))
}

// compareServed reports a component that serves something other than its file on disk.
func (k *KubeadmPKI) compareServed(ctx context.Context, c *Collector, component string, disk *x509.Certificate) {
	chain, where, err := k.Served(ctx, component, disk)
	if err != nil {
		c.Note("could not compare the %s certificate on disk with the one it serves: %v", component, err)
		return
	}
	if len(chain) == 0 || string(chain[0].Raw) == string(disk.Raw) {
		return
	}
	live := certs.Describe(chain[0])
	c.Finding(diagnose.New(diagnose.CodeStaleServing, diagnose.Where{Source: k.SourceName, Subject: k.subject(component)},
		diagnose.Params{"component": component, "where": where,
			"diskSerial": disk.SerialNumber.Text(16), "diskExpires": disk.NotAfter.UTC().Format("2006-01-02"),
			"liveSerial": live.Serial, "liveExpires": live.NotAfter.Format("2006-01-02")}))
}
