package diagnose

import (
	"fmt"
	"strings"
	"time"

	"github.com/certdoctor/kubectl-certdoctor/pkg/certs"
	"github.com/certdoctor/kubectl-certdoctor/pkg/result"
)

// CertContext says where a certificate was found, so its finding names the fix that
// fits: a kubeadm file is renewed with kubeadm, a cert-manager secret with cmctl.
type CertContext struct {
	Source  string
	Subject string
	Node    string
	// KubeadmName is the certificate's name in `kubeadm certs check-expiration`.
	KubeadmName string
	IsCA        bool
	// CertManagerCertificate is "namespace/name" of the Certificate that owns a secret.
	CertManagerCertificate string
	// Namespace and Name of the object holding the certificate, when it is an object.
	Namespace, Name string
	// Webhook is the webhook name inside a configuration, for the client error text.
	Webhook string
	// Key is the data key of a secret holding the certificate ("tls.crt", "ca.crt").
	Key string
	// TrustBundle is the trust-manager object that writes the certificate's bundle, as
	// kubectl names it ("bundles.trust.cert-manager.io/NAME"); empty for other bundles.
	TrustBundle string
}

// kubeadmComponents says which control-plane containers read each kubeadm certificate
// at start-up; they do not reload renewed files, so they must be restarted.
var kubeadmComponents = map[string][]string{
	"apiserver":                {"kube-apiserver"},
	"apiserver-etcd-client":    {"kube-apiserver"},
	"apiserver-kubelet-client": {"kube-apiserver"},
	"front-proxy-client":       {"kube-apiserver"},
	"etcd-server":              {"etcd"},
	"etcd-peer":                {"etcd"},
	"etcd-healthcheck-client":  {"etcd"},
	"controller-manager.conf":  {"kube-controller-manager"},
	"scheduler.conf":           {"kube-scheduler"},
}

// statusCodes are the findings a certificate's status calls for.
var statusCodes = map[result.Status]string{
	result.StatusExpired:     CodeExpired,
	result.StatusNotYetValid: CodeNotYetValid,
	result.StatusExpiring:    CodeExpiring,
	result.StatusMissing:     CodeMissing,
}

// CertificateFinding returns the finding a certificate's status calls for, or nil when
// there is nothing to say.
func CertificateFinding(ctx CertContext, st result.Status, info *result.CertInfo, now time.Time, warnWithin time.Duration) *result.Finding {
	code, ok := statusCodes[st]
	if !ok || (st == result.StatusMissing && ctx.KubeadmName == "super-admin.conf") {
		return nil // kubeadm writes super-admin.conf on the first control-plane node only
	}
	variant := ""
	if st == result.StatusMissing && ctx.KubeadmName != "" {
		variant = "control-plane" // a kubeadm file: its component does not start without it
	}
	f := NewVariant(code, variant, Where{ctx.Source, ctx.Subject}, certParams(ctx, info, now, warnWithin))
	if info != nil {
		na := info.NotAfter
		f.NotAfter = &na
	}
	return &f
}

// certParams are the parameters of the certificate entries: the certificate's dates,
// the error its clients print, and which renewal procedure fits where it lives.
func certParams(ctx CertContext, info *result.CertInfo, now time.Time, warnWithin time.Duration) Params {
	p := Params{"what": "certificate", "isCA": ctx.IsCA, "kubeadmName": ctx.KubeadmName,
		"namespace": ctx.Namespace, "name": ctx.Name, "webhook": ctx.Webhook, "on": "on the node",
		"components": kubeadmComponents[ctx.KubeadmName], "renew": renewProcedure(ctx), "client": clientKind(ctx),
		"recreate": kubeadmRecreate(ctx.KubeadmName), "key": ctx.Key, "trustBundle": ctx.TrustBundle,
		"object": ctx.Subject}
	if ctx.IsCA {
		p["what"] = "CA certificate"
	}
	if ctx.Node != "" {
		p["on"] = "on node " + ctx.Node
	}
	if p["webhook"] == "" {
		p["webhook"] = ctx.Name
	}
	cm := ctx.CertManagerCertificate
	if ctx.Source == result.SourceCertManager {
		cm = ctx.Namespace + "/" + ctx.Name
	}
	p["cmNamespace"], p["cmName"] = splitNsName(cm)
	p["patchTarget"], p["caBundlePath"] = caBundleTarget(ctx)
	if info != nil {
		p["subject"] = certName(info)
		p["notAfter"] = info.NotAfter.Format(time.RFC3339)
		p["notBefore"] = info.NotBefore.Format(time.RFC3339)
		p["ago"] = shortDuration(now.Sub(info.NotAfter))
		p["left"] = shortDuration(info.NotAfter.Sub(now))
		p["warnWithin"] = shortDuration(warnWithin)
		p["x509"] = certs.ExpiredError(info, now)
	}
	return p
}

// kubeadmRecreate is the kubeadm phase that writes a kubeadm file anew: kubeconfig files
// have their own phase, named without .conf.
func kubeadmRecreate(name string) string {
	if name == "" {
		return ""
	}
	if base, ok := strings.CutSuffix(name, ".conf"); ok {
		return "kubeadm init phase kubeconfig " + base
	}
	return "kubeadm init phase certs " + name
}

// certName is how a finding names a certificate: its subject CN, else (a leaf issued for
// SANs only, as cert-manager and most webhooks issue them) its first SAN.
func certName(info *result.CertInfo) string {
	if info.Subject == "" && len(info.SANs) > 0 {
		return info.SANs[0]
	}
	return info.Subject
}

// renewProcedure names the renew template's branch for where the certificate lives.
func renewProcedure(ctx CertContext) string {
	if ctx.TrustBundle != "" {
		return "trust-manager" // whatever holds the bundle, trust-manager rewrites it
	}
	switch ctx.Source {
	case result.SourceKubeconfig:
		if ctx.IsCA {
			return "kubeconfig-ca"
		}
		return "kubeconfig"
	case result.SourceKubeconfigSecret:
		return "managed-kubeconfig"
	case result.SourceAPIServer:
		if ctx.IsCA {
			return "ca"
		}
		return "kubeadm-all"
	case result.SourceLocal, result.SourceNode:
		switch ctx.KubeadmName {
		case "kubelet.conf", "kubelet-client-current.pem":
			if !ctx.IsCA {
				return "kubelet-client"
			}
		case "kubelet.crt", "kubelet-server-current.pem":
			if !ctx.IsCA {
				return "kubelet-serving"
			}
		case "admin.conf", "super-admin.conf":
			if !ctx.IsCA {
				return "admin-conf"
			}
		}
		switch {
		case ctx.IsCA:
			return "ca"
		case ctx.KubeadmName != "":
			return "kubeadm-file"
		}
		return "node-file"
	case result.SourceSecret:
		switch {
		case ctx.Key == "tls.crt" && ctx.IsCA:
			return "secret-intermediate"
		case ctx.IsCA:
			return "secret-ca"
		case ctx.CertManagerCertificate != "":
			return "cert-manager"
		}
		return "secret"
	case result.SourceConfigMap:
		return "root-ca"
	case result.SourceWebhook, result.SourceAPIService, result.SourceCRD:
		return "cabundle"
	case result.SourceCertManager:
		return "cert-manager"
	}
	return "generic"
}

// clientKind names the certClientError template's branch: who uses the certificate.
func clientKind(ctx CertContext) string {
	switch ctx.Source {
	case result.SourceAPIServer:
		return "apiserver"
	case result.SourceKubeconfig, result.SourceKubeconfigSecret:
		if ctx.IsCA {
			return "kubeconfig-ca"
		}
		return "kubeconfig" // the API server refuses an expired client certificate as unauthenticated
	case result.SourceWebhook, result.SourceAPIService, result.SourceCRD:
		return "webhook"
	}
	return "other"
}

// caBundleTarget is the object and JSON path a caBundle patch addresses.
func caBundleTarget(ctx CertContext) (target, path string) {
	switch ctx.Source {
	case result.SourceAPIService:
		return "apiservice " + ctx.Name, "/spec/caBundle"
	case result.SourceCRD:
		return "crd " + ctx.Name, "/spec/conversion/webhook/clientConfig/caBundle"
	}
	return "validatingwebhookconfiguration|mutatingwebhookconfiguration " + ctx.Name, "/webhooks/0/clientConfig/caBundle"
}

func splitNsName(s string) (string, string) {
	for i := 0; i < len(s); i++ {
		if s[i] == '/' {
			return s[:i], s[i+1:]
		}
	}
	return "default", s
}

// InvalidCertificate is the finding for data that should be a certificate and is not.
func InvalidCertificate(source, subject string, err error) result.Finding {
	if f, ok := invalidSerial(Where{source, subject}, err); ok {
		return f
	}
	return New(CodeInvalid, Where{source, subject}, Params{"err": err})
}

// InvalidKubeadmFile is InvalidCertificate for a file of a node's kubeadm PKI, which is
// as critical as an expired one: its component does not start.
func InvalidKubeadmFile(ctx CertContext, err error) result.Finding {
	if f, ok := invalidSerial(Where{ctx.Source, ctx.Subject}, err); ok {
		return f
	}
	return NewVariant(CodeInvalid, "control-plane", Where{ctx.Source, ctx.Subject},
		Params{"err": err, "isCA": ctx.IsCA, "recreate": kubeadmRecreate(ctx.KubeadmName)})
}

// ShortDuration prints d in the largest sensible unit: 3d, 5h, 12m, 40s.
func ShortDuration(d time.Duration) string { return shortDuration(d) }

func shortDuration(d time.Duration) string {
	if d < 0 {
		d = -d
	}
	switch {
	case d >= 48*time.Hour:
		return fmt.Sprintf("%dd", int(d.Hours()/24))
	case d >= time.Hour:
		return fmt.Sprintf("%dh", int(d.Hours()))
	case d >= time.Minute:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	default:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	}
}
