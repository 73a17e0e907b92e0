package diagnose

import "fmt"

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

// RestartSteps are the commands that make static-pod components load renewed
// certificates (seed 000: none of them reloads dynamically). The kubelet recreates a
// stopped static-pod container at once.
func RestartSteps(components ...string) string {
	if len(components) == 0 {
		components = []string{"kube-apiserver", "kube-controller-manager", "kube-scheduler", "etcd"}
	}
	s := ""
	for _, c := range components {
		s += fmt.Sprintf("\n  crictl stop $(crictl ps --name '^%s$' -q)", c)
	}
	return "restart the components so they load the renewed files (the kubelet recreates each stopped static pod):" + s +
		"\n  (if crictl reports \"context deadline exceeded\" (DeadlineExceeded), run the same command again)"
}

// kubeadmRenewAll is the seed-000 procedure for a control plane whose certificates expired.
func kubeadmRenewAll() string {
	return lines(
		"on every control-plane node:",
		"  cp -a /etc/kubernetes /etc/kubernetes.bak-$(date +%F)",
		"  kubeadm certs renew all",
		"  kubeadm certs check-expiration",
		RestartSteps(),
		"then check: kubectl get nodes --kubeconfig=/etc/kubernetes/admin.conf",
		"and give users the renewed /etc/kubernetes/admin.conf (its embedded client certificate was renewed too);",
		"on Anthos/GDC bare metal also: kubectl rollout restart daemonset etcd-defrag -n kube-system")
}

const caRotation = "a CA is not renewed by `kubeadm certs renew`: rotate it by hand, keeping the old CA trusted until every certificate and kubeconfig is re-issued " +
	"(https://kubernetes.io/docs/tasks/tls/manual-rotation-of-ca-certificates/)"

const managedKubeconfigFix = "renew the cluster's certificates (for kubeadm: `kubeadm certs renew all` on each control-plane node, then restart the static pods), then fetch the renewed kubeconfig from the admin cluster:\n" +
	"  kubectl --kubeconfig ADMIN_KUBECONFIG get secret/CLUSTER_NAME-kubeconfig -n CLUSTER_NAMESPACE -o jsonpath='{.data.value}' | base64 --decode > new_kubeconfig.conf\n" +
	"  kubectl get nodes --kubeconfig new_kubeconfig.conf\n" +
	"and replace the old copy on the admin workstation (bmctl: bmctl-workspace/CLUSTER_NAME/CLUSTER_NAME-kubeconfig)"

// renewFix is the fix for an expired or expiring certificate, fitted to where it lives.
func renewFix(ctx CertContext) string {
	switch ctx.Source {
	case "kubeconfig":
		if ctx.IsCA {
			return "the cluster CA in your kubeconfig (certificate-authority-data) is out of date: " + caRotation +
				"; then copy the new CA into the kubeconfig (kubeadm: it is in /etc/kubernetes/admin.conf)"
		}
		return lines(
			"renew your client certificate and replace it in the kubeconfig:",
			"  kubeadm: on a control-plane node `kubeadm certs renew admin.conf` (or `kubeadm certs renew all`), then copy /etc/kubernetes/admin.conf to this kubeconfig",
			"  a cluster managed from an admin cluster: "+managedKubeconfigFix)
	case "kubeconfig-secret":
		return managedKubeconfigFix
	case "apiserver":
		if ctx.IsCA {
			return caRotation
		}
		return kubeadmRenewAll()
	case "local", "node":
		return kubeadmFileFix(ctx)
	case "secret":
		if ctx.Key == "tls.crt" && ctx.IsCA {
			return fmt.Sprintf("tls.crt in secret %s/%s carries an out-of-date intermediate CA: replace the chain with the issuer's current intermediate "+
				"(re-issue the certificate, or append the current intermediate after the leaf), then restart the workloads that serve it", ctx.Namespace, ctx.Name)
		}
		if ctx.IsCA {
			return fmt.Sprintf("ca.crt in secret %s/%s is out of date: put the current CA in it (whoever issues tls.crt publishes it), then restart the workloads that read it", ctx.Namespace, ctx.Name)
		}
		if ctx.CertManagerCertificate != "" {
			return certManagerRenew(ctx.CertManagerCertificate)
		}
		return fmt.Sprintf("issue a new certificate and replace the secret, then restart the workloads that mount it unless they reload it:\n"+
			"  kubectl create secret tls %s -n %s --cert=tls.crt --key=tls.key --dry-run=client -o yaml | kubectl apply -f -", ctx.Name, ctx.Namespace)
	case "configmap":
		return "kube-root-ca.crt is the cluster CA that kube-controller-manager (--root-ca-file) publishes to every namespace: " + caRotation
	case "webhook", "apiservice", "crd":
		return lines(
			"put the CA that signs the webhook's current serving certificate into caBundle.",
			"  with cert-manager's cainjector (annotation cert-manager.io/inject-ca-from): check it runs and the referenced Certificate is renewed:",
			"    kubectl -n cert-manager get pods -l app.kubernetes.io/name=cainjector; kubectl -n cert-manager logs -l app.kubernetes.io/name=cainjector",
			"  otherwise patch it: kubectl patch "+patchTarget(ctx)+" --type=json -p '[{\"op\":\"replace\",\"path\":\""+caBundlePath(ctx.Source)+"\",\"value\":\"'$(base64 -w0 ca.crt)'\"}]'")
	case "cert-manager":
		return certManagerRenew(ctx.Namespace + "/" + ctx.Name)
	}
	return "renew the certificate and restart whatever loads it"
}

func patchTarget(ctx CertContext) string {
	switch ctx.Source {
	case "apiservice":
		return "apiservice " + ctx.Name
	case "crd":
		return "crd " + ctx.Name
	}
	return "validatingwebhookconfiguration|mutatingwebhookconfiguration " + ctx.Name
}

func caBundlePath(source string) string {
	switch source {
	case "apiservice":
		return "/spec/caBundle"
	case "crd":
		return "/spec/conversion/webhook/clientConfig/caBundle"
	}
	return "/webhooks/0/clientConfig/caBundle"
}

func certManagerRenew(nsName string) string {
	ns, name := splitNsName(nsName)
	return fmt.Sprintf("let cert-manager re-issue it and find out why it did not:\n"+
		"  cmctl renew %s -n %s   (or: kubectl cert-manager renew %s -n %s)\n"+
		"  kubectl describe certificate %s -n %s; kubectl get certificaterequests -n %s; check its Issuer/ClusterIssuer is Ready",
		name, ns, name, ns, name, ns, ns)
}

func splitNsName(s string) (string, string) {
	for i := 0; i < len(s); i++ {
		if s[i] == '/' {
			return s[:i], s[i+1:]
		}
	}
	return "default", s
}

// kubeadmFileFix renews one file of a kubeadm control plane.
func kubeadmFileFix(ctx CertContext) string {
	on := "on the node"
	if ctx.Node != "" {
		on = "on node " + ctx.Node
	}
	switch {
	case ctx.IsCA:
		return caRotation
	case ctx.KubeadmName == "kubelet.conf" || ctx.KubeadmName == "kubelet-client-current.pem":
		return lines(
			"the kubelet renews its client certificate itself while it can reach the API server; once it expired, re-issue it "+on+":",
			"  kubeadm kubeconfig user --org system:nodes --client-name system:node:$(hostname) > /etc/kubernetes/kubelet.conf   (run where /etc/kubernetes/pki/ca.key is)",
			"  systemctl restart kubelet; wait for /var/lib/kubelet/pki/kubelet-client-current.pem to be re-created,",
			"  then point kubelet.conf at it (client-certificate and client-key: /var/lib/kubelet/pki/kubelet-client-current.pem) and restart the kubelet again")
	case ctx.KubeadmName == "kubelet.crt" || ctx.KubeadmName == "kubelet-server-current.pem":
		return "the kubelet serving certificate: with serverTLSBootstrap approve the pending CSR (kubectl get csr; kubectl certificate approve NAME); " +
			"with a self-signed kubelet.crt, move kubelet.crt and kubelet.key aside and restart the kubelet to regenerate them (" + on + ")"
	case ctx.KubeadmName == "admin.conf" || ctx.KubeadmName == "super-admin.conf":
		return fmt.Sprintf("%s: kubeadm certs renew %s, then copy /etc/kubernetes/%s to the users' kubeconfig (~/.kube/config)", on, ctx.KubeadmName, ctx.KubeadmName)
	case ctx.KubeadmName != "":
		fix := fmt.Sprintf("%s: cp -a /etc/kubernetes /etc/kubernetes.bak-$(date +%%F); kubeadm certs renew %s (or `kubeadm certs renew all`); kubeadm certs check-expiration", on, ctx.KubeadmName)
		if comps := kubeadmComponents[ctx.KubeadmName]; len(comps) > 0 {
			fix += "\n" + RestartSteps(comps...)
		}
		return fix
	}
	return "renew the certificate with the tool that issued it and restart the component that reads it"
}

func missingFix(ctx CertContext) string {
	if ctx.KubeadmName == "" {
		return "restore the file from a backup or re-create it with the tool that issued it"
	}
	if ctx.IsCA {
		return "restore the CA from a backup of /etc/kubernetes/pki (a new CA would invalidate every certificate it signed)"
	}
	return fmt.Sprintf("restore it from a backup, or re-create it: kubeadm init phase certs/kubeconfig for %s (with the cluster's kubeadm config: kubectl -n kube-system get cm kubeadm-config)", ctx.KubeadmName)
}
