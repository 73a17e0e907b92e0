package diagnose

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/certdoctor/kubectl-certdoctor/pkg/result"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

func TestFromAPIError(t *testing.T) {
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connect: connection refused")}
	tests := []struct {
		err      error
		code     string
		severity result.Severity
		inFix    string
	}{
		{apierrors.NewForbidden(schema.GroupResource{Resource: "secrets"}, "", errors.New("no")), CodePermissionDenied, result.Warning, "whoami --can"},
		{apierrors.NewUnauthorized("Unauthorized"), CodeUnauthorized, result.Critical, "kubeadm certs renew admin.conf"},
		{fmt.Errorf("Get \"https://10.0.0.1:6443/version\": %w", refused), CodeUnreachable, result.Critical, "--local"},
		{errors.New("net/http: TLS handshake timeout"), CodeUnreachable, result.Critical, "firewall"},
		{errors.New("the server could not find the requested resource"), CodeSourceFailed, result.Warning, ""},
		{apierrors.NewTooManyRequests("the server has received too many requests and has asked us to try again later", 1), CodeThrottled, result.Warning, "dump_priority_levels"},
		{errors.New(`Get "https://10.0.0.1:6443/version?timeout=1s": net/http: request canceled (Client.Timeout exceeded while awaiting headers)`), CodeUnreachable, result.Critical, "firewall"},
	}
	for _, tt := range tests {
		t.Run(tt.code, func(t *testing.T) {
			f := FromAPIError("secret", "", tt.err)
			if f.Code != tt.code || f.Severity != tt.severity || !strings.Contains(f.Fix, tt.inFix) || f.Subject != "secret" {
				t.Fatalf("%v -> %+v", tt.err, f)
			}
			if strings.Contains(f.Error, "\n") || strings.Contains(f.Message, "\n") {
				t.Fatalf("multi-line text: %+v", f)
			}
		})
	}
}

func TestCertificateFinding(t *testing.T) {
	now := time.Now()
	info := &result.CertInfo{Subject: "x", NotBefore: now.Add(-48 * time.Hour), NotAfter: now.Add(-24 * time.Hour)}
	tests := []struct {
		ctx   CertContext
		st    result.Status
		code  string
		inErr string
		inFix string
	}{
		{CertContext{Source: "apiserver"}, result.StatusExpired, CodeExpired, "Unable to connect to the server: x509: certificate has expired or is not yet valid", "kubeadm certs renew all"},
		{CertContext{Source: "kubeconfig"}, result.StatusExpired, CodeExpired, "You must be logged in to the server (Unauthorized)", "copy /etc/kubernetes/admin.conf"},
		{CertContext{Source: "kubeconfig-secret", Name: "prod-kubeconfig"}, result.StatusExpired, CodeExpired, "Unauthorized", "base64 --decode > new_kubeconfig.conf"},
		{CertContext{Source: "webhook", Webhook: "webhook.cert-manager.io", Name: "cert-manager-webhook"}, result.StatusExpired, CodeExpired, `failed calling webhook "webhook.cert-manager.io"`, "validatingwebhookconfiguration|mutatingwebhookconfiguration cert-manager-webhook"},
		{CertContext{Source: "local", KubeadmName: "etcd-peer"}, result.StatusExpired, CodeExpired, "x509: certificate has expired", "crictl stop $(crictl ps --name '^etcd$' -q)"},
		{CertContext{Source: "local", KubeadmName: "ca", IsCA: true}, result.StatusExpired, CodeExpired, "", "manual-rotation-of-ca-certificates"},
		{CertContext{Source: "secret", Namespace: "a", Name: "b"}, result.StatusNotYetValid, CodeNotYetValid, "is before", "kubectl create secret tls b -n a"},
		{CertContext{Source: "configmap"}, result.StatusExpiring, CodeExpiring, "", "root-ca-file"},
	}
	for _, tt := range tests {
		t.Run(tt.ctx.Source+"/"+string(tt.st), func(t *testing.T) {
			in := info
			if tt.st == result.StatusNotYetValid {
				in = &result.CertInfo{Subject: "x", NotBefore: now.Add(time.Hour), NotAfter: now.Add(48 * time.Hour)}
			}
			f := CertificateFinding(tt.ctx, tt.st, in, now, 30*24*time.Hour)
			if f == nil || f.Code != tt.code || !strings.Contains(f.Error, tt.inErr) || !strings.Contains(f.Fix, tt.inFix) {
				t.Fatalf("got %+v", f)
			}
		})
	}
	if f := CertificateFinding(CertContext{Source: "local", KubeadmName: "super-admin.conf"}, result.StatusMissing, nil, now, 0); f != nil {
		t.Errorf("super-admin.conf exists only on the first control-plane node; missing is normal: %+v", f)
	}
	// A leaf issued for SANs only (cert-manager's, most webhooks') is named by its first SAN.
	sanOnly := &result.CertInfo{SANs: []string{"cert-manager-webhook.cert-manager.svc"}, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(6 * 24 * time.Hour)}
	if f := CertificateFinding(CertContext{Source: "secret"}, result.StatusExpiring, sanOnly, now, 30*24*time.Hour); f == nil ||
		!strings.Contains(f.Message, `certificate "cert-manager-webhook.cert-manager.svc" expires in 6d`) {
		t.Errorf("got %+v", f)
	}
	if f := CertificateFinding(CertContext{Source: "secret"}, result.StatusOK, info, now, 0); f != nil {
		t.Errorf("result.OK certificate gave a finding")
	}
}

func TestSortAndWorst(t *testing.T) {
	fs := []result.Finding{{Severity: result.Warning, Source: "b"}, {Severity: result.Critical, Source: "z"}, {Severity: result.Warning, Source: "a"}}
	result.SortFindings(fs)
	if fs[0].Severity != result.Critical || fs[1].Source != "a" || result.Worst(fs) != result.Critical || result.Worst(nil) != result.OK {
		t.Fatalf("%+v", fs)
	}
}

func TestClassifyCallError(t *testing.T) {
	for msg, family := range map[string]string{
		`failed calling webhook "webhook.cert-manager.io": failed to call webhook: Post "https://cert-managercert-manager-webhook.cert-manager.svc:443/mutate?timeout=10s": service "cert-managercert-manager-webhook" not found`: "service not found",
		`Post "https://cert-manager-webhook.cert-manager.svc:443/mutate?timeout=30s": no endpoints available for service "cert-manager-webhook"`:                                                                                  "no endpoints",
		`Post "https://cert-manager-webhook.cert-manager.svc:443/mutate?timeout=10s": dial tcp 10.96.20.99:443: connect: connection refused`:                                                                                      "connection refused",
		`dial tcp 10.0.0.69:443: i/o timeout`: "i/o timeout",
		`net/http: TLS handshake timeout`:     "TLS handshake timeout",
		`net/http: request canceled while waiting for connection (Client.Timeout exceeded while awaiting headers)`:                                "awaiting headers",
		`Post "https://x/mutate?timeout=30s": context deadline exceeded`:                                                                          "context deadline exceeded",
		`x509: certificate signed by unknown authority`:                                                                                           "x509 unknown authority",
		`x509: certificate has expired or is not yet valid`:                                                                                       "x509 expired",
		`x509: certificate is valid for ip-192-168-1-2.compute.internal, not cert-manager-webhook.cert-manager.svc`:                               "a node's certificate answered",
		`x509: certificate is valid for webhook.other.svc, not cert-manager-webhook.cert-manager.svc`:                                             "x509 valid for",
		`Post "https://my-cert-manager-webhook.default.svc:443/mutate?timeout=10s": Service Unavailable`:                                          "Service Unavailable",
		`failed calling admission webhook "issuers.admission.certmanager.k8s.io": the server is currently unable to handle the request`:           "unable to handle the request",
		`GKEAutopilot authz: cluster scoped resource "mutatingwebhookconfigurations/" is managed and access is denied`:                            "GKE Autopilot managed",
		`leases.coordination.k8s.io is forbidden: User "system:serviceaccount:cert-manager:cert-manager-webhook" cannot create resource "leases"`: "leader election forbidden",
	} {
		got, ok := Default().Classify(CodeWebhookCallFailed, msg)
		if !ok || got.Title() != family {
			t.Errorf("%q: %q, want %q", msg, got.Title(), family)
		}
	}
	if _, ok := Default().Classify(CodeWebhookCallFailed, "something else"); ok {
		t.Error("unknown text classified")
	}
}

// A Forbidden error names who was denied what: the finding takes user, verb, resource,
// group and namespace from the API server's own message, and GKE's IAM permission.
func TestFromAPIErrorForbiddenByName(t *testing.T) {
	for _, tt := range []struct {
		name, reason               string
		variant                    string
		wantMsg, wantFix, notInFix []string
	}{
		{"namespaced", `User "alice" cannot list resource "secrets" in API group "" in the namespace "team-a"`, "",
			[]string{"list secrets in namespace team-a", `"alice"`}, []string{"kubectl create role certdoctor-list -n team-a --verb=list --resource=secrets", "--user=alice"}, []string{"IAM"}},
		{"cluster", `User "bob" cannot list resource "validatingwebhookconfigurations" in API group "admissionregistration.k8s.io" at the cluster scope`, "",
			[]string{"list validatingwebhookconfigurations.admissionregistration.k8s.io at the cluster scope"}, []string{"kubectl create clusterrole certdoctor-list --verb=list --resource=validatingwebhookconfigurations.admissionregistration.k8s.io", "--user=bob"}, []string{" -n "}},
		{"gke", `User "sa@p.iam.gserviceaccount.com" cannot list resource "roles" in API group "rbac.authorization.k8s.io" in the namespace "kube-system": requires one of ["container.roles.list"] permission(s).`, "gke-iam",
			[]string{"neither RBAC nor IAM", "container.roles.list"}, []string{"kubectl create role certdoctor-list -n kube-system", "includedPermissions:container.roles.list", "--member=user:sa@p.iam.gserviceaccount.com"}, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := fmt.Errorf("list: %w", apierrors.NewForbidden(schema.GroupResource{Resource: "x"}, "", errors.New(tt.reason)))
			f := FromAPIError("secret", "", err)
			if f.Code != CodePermissionDenied || !strings.Contains(f.Error, tt.reason) {
				t.Fatalf("finding %+v: want PermissionDenied quoting the API server", f)
			}
			for _, s := range tt.wantMsg {
				if !strings.Contains(f.Message, s) {
					t.Errorf("message %q lacks %q", f.Message, s)
				}
			}
			for _, s := range tt.wantFix {
				if !strings.Contains(f.Fix, s) {
					t.Errorf("fix %q lacks %q", f.Fix, s)
				}
			}
			for _, s := range tt.notInFix {
				if strings.Contains(f.Fix, s) {
					t.Errorf("fix %q has %q", f.Fix, s)
				}
			}
			d, ok := ParseForbidden(err.Error())
			if !ok || d.Verb == "" || d.User == "" || (tt.variant == "gke-iam") != (d.Permission != "") {
				t.Errorf("ParseForbidden = %+v, %v", d, ok)
			}
		})
	}
}

// Every source refused with 429 is one APIServerThrottled finding per cluster, naming
// the other reads it left undone; other findings are untouched.
func TestCoalesceThrottled(t *testing.T) {
	tooMany := apierrors.NewTooManyRequests("the server has received too many requests and has asked us to try again later", 1)
	var fs []result.Finding
	for _, src := range []string{"configmap", "secret", "webhook"} {
		fs = append(fs, FromAPIError(src, "", tooMany))
	}
	other := FromAPIError("secret", "", tooMany)
	other.Cluster = "prod"
	fs = append(fs, result.Finding{Code: CodeExpired, Source: "secret", Subject: "secret a/b"}, other)
	got := CoalesceThrottled(fs)
	if len(got) != 3 {
		t.Fatalf("want the first throttled finding, the expiry and prod's: %+v", got)
	}
	first := got[0]
	if first.Code != CodeThrottled || first.Source != "configmap" || len(first.Consequences) != 2 ||
		!strings.HasPrefix(first.Consequences[0], "secret secret: not read") || !strings.HasPrefix(first.Consequences[1], "webhook webhook: not read") {
		t.Errorf("coalesced %+v", first)
	}
	if got[1].Code != CodeExpired || got[2].Cluster != "prod" || len(got[2].Consequences) != 0 {
		t.Errorf("others %+v", got[1:])
	}
	if len(fs[0].Consequences) != 0 {
		t.Error("the input was changed")
	}
}
