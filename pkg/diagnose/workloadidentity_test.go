package diagnose

import (
	"strings"
	"testing"
)

// explain names the Workload Identity causes in the error texts of seed 003 and in the
// errors GKE workloads log when IAM or the control plane stands in the way.
func TestExplainWorkloadIdentity(t *testing.T) {
	for text, want := range map[string][2]string{
		`Error waiting for updating GKE cluster workload identity config: DeployPatch failed`:                                                                                                                                                      {"WorkloadIdentityDeployPatch", "roles/container.serviceAgent"},
		`Retry limit exceeded. Failed to wait for metadata server to be available. Check if the gke-metadata-server Pod in the kube-system namespace is healthy.`:                                                                                  {"WorkloadIdentityMetadataServer", "initContainer"},
		`google.auth.exceptions.DefaultCredentialsError: Could not automatically determine credentials. Please set GOOGLE_APPLICATION_CREDENTIALS or explicitly create credentials`:                                                                {"WorkloadIdentityCredentials", "GCE_METADATA_HOST=169.254.169.254"},
		`google: could not find default credentials. See https://cloud.google.com/docs/authentication/external/set-up-adc for more information`:                                                                                                    {"WorkloadIdentityCredentials", "GCE_METADATA_HOST"},
		`Unable to generate access token; IAM returned 403 Forbidden: Permission 'iam.serviceAccounts.getAccessToken' denied on resource (or it may not exist).`:                                                                                   {"WorkloadIdentityIAMBinding", "roles/iam.workloadIdentityUser"},
		`IAM Service Account Credentials API has not been used in project 123456789012 before or it is disabled. Enable it by visiting https://console.developers.google.com/apis/api/iamcredentials.googleapis.com/overview?project=123456789012`: {"WorkloadIdentityCredentialsAPI", "--project=123456789012"},
		`gke-metadata-server: failed to fetch token: dial tcp 35.232.136.58:443: connect: connection refused`:                                                                                                                                      {"WorkloadIdentityControlPlane", "regional cluster"},
	} {
		xs := Default().Explain(text, nil)
		if len(xs) == 0 || xs[0].Code != want[0] || !strings.Contains(xs[0].Fix, want[1]) {
			t.Errorf("%s:\n got %+v\nwant %s with a fix naming %q", text, xs, want[0], want[1])
		}
	}
}

// The finding entries render with what the checks pass (a missing parameter panics).
func TestWorkloadIdentityFindingsRender(t *testing.T) {
	at := Where{Source: "workload-identity", Subject: "pod app/web"}
	base := Params{"namespace": "app", "pod": "web", "name": "web", "gsa": "g@p.iam.gserviceaccount.com"}
	for _, f := range []struct{ code, variant string }{
		{CodeWIHostNetwork, ""}, {CodeWIIstio, ""}, {CodeWIMetadataHost, ""}, {CodeWINodePool, ""},
	} {
		p := Params{"owner": "deployment web", "capture": "c", "hold": "h", "exclude": "169.254.169.254/32", "container": "main", "value": "x",
			"node": "n1", "pool": "p", "cluster": "c", "location": " --zone=z"}
		for k, v := range base {
			p[k] = v
		}
		if got := NewVariant(f.code, f.variant, at, p); got.Message == "" || got.Fix == "" {
			t.Errorf("%s: %+v", f.code, got)
		}
	}
}
