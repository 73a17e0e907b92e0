package workloadidentity

import (
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/certdoctor/kubectl-certdoctor/pkg/result"
)

// gcloudCluster is the cluster name and location flag for gcloud commands: from the
// kubeconfig when gcloud wrote it, else placeholders (the nodes' region, when known,
// narrows the location down in a note).
func (r *run) gcloudCluster(n *corev1.Node) (name, location string) {
	h := r.cluster.hint
	name = orUpper(h.name, "CLUSTER")
	switch {
	case h.location != "" && zonal(h.location):
		return name, " --zone=" + h.location
	case h.location != "":
		return name, " --region=" + h.location
	}
	return name, " --location=LOCATION"
}

// project is the cluster's project: the kubeconfig's, a node's providerID, else the
// first annotated Google service account's (a guess the plan says is one).
func (r *run) project() (string, string) {
	if r.cluster.hint.project != "" {
		return r.cluster.hint.project, ""
	}
	for _, n := range r.sortedNodes() {
		if p := projectOf(n); p != "" {
			return p, ""
		}
	}
	for _, b := range r.pairs {
		if b.gsa.Project != "" && !strings.Contains(b.gsa.Project, ":") {
			return b.gsa.Project, " (taken from the Google service account; use the cluster's project if it differs)"
		}
	}
	return "PROJECT_ID", ""
}

func (r *run) sortedNodes() []*corev1.Node {
	names := make([]string, 0, len(r.nodes))
	for n := range r.nodes {
		names = append(names, n)
	}
	sort.Strings(names)
	out := make([]*corev1.Node, len(names))
	for i, n := range names {
		out[i] = r.nodes[n]
	}
	return out
}

// finish adds the gcloud procedure for what the cluster cannot show, and the notes on
// what cannot be checked from outside the pods.
func (r *run) finish() {
	project, guessed := r.project()
	name, location := r.gcloudCluster(nil)
	steps := []string{
		fmt.Sprintf("the IAM Service Account Credentials API is enabled in the cluster's project%s: gcloud services list --enabled --project=%s --filter=name:iamcredentials.googleapis.com (enable it: gcloud services enable iamcredentials.googleapis.com --project=%s)", guessed, project, project),
		fmt.Sprintf("Workload Identity is enabled on the cluster: gcloud container clusters describe %s%s --project=%s --format=\"value(workloadIdentityConfig.workloadPool)\" prints %s.svc.id.goog", name, location, project, project),
	}
	pools := make([]string, 0, len(r.pools))
	for p := range r.pools {
		pools = append(pools, p)
	}
	sort.Strings(pools)
	if len(pools) == 0 {
		pools = []string{"NODEPOOL"}
	}
	for _, p := range pools {
		steps = append(steps, fmt.Sprintf("node pool %s runs the GKE metadata server: gcloud container node-pools describe %s --cluster=%s%s --project=%s --format=\"value(config.workloadMetadataConfig.mode)\" prints GKE_METADATA", p, p, name, location, project))
	}
	pairs := r.pairs
	if len(pairs) == 0 {
		pairs = []binding{{"NAMESPACE", "KSA_NAME", GSA{Email: "GSA_NAME@GSA_PROJECT.iam.gserviceaccount.com"}}}
	}
	for _, b := range pairs {
		member := fmt.Sprintf("serviceAccount:%s.svc.id.goog[%s/%s]", project, b.namespace, b.ksa)
		steps = append(steps, fmt.Sprintf("%s/%s may act as %s: gcloud iam service-accounts get-iam-policy %s shows role roles/iam.workloadIdentityUser for member %s (grant it: gcloud iam service-accounts add-iam-policy-binding %s --role=roles/iam.workloadIdentityUser --member=\"%s\")",
			b.namespace, b.ksa, b.gsa.Email, b.gsa.Email, member, b.gsa.Email, member))
	}
	steps = append(steps, fmt.Sprintf("if enabling Workload Identity failed with \"DeployPatch failed\": gcloud projects get-iam-policy %s --flatten=bindings --filter=bindings.role=roles/container.serviceAgent --format=\"value[delimiter='\\\\n'](bindings.members)\" lists serviceAccount:service-PROJECT_NUMBER@container-engine-robot.iam.gserviceaccount.com; if not, grant it (PROJECT_NUMBER: gcloud projects describe %s --format=\"value(projectNumber)\"): gcloud projects add-iam-policy-binding %s --member=serviceAccount:service-PROJECT_NUMBER@container-engine-robot.iam.gserviceaccount.com --role=roles/container.serviceAgent --condition=None, then enable Workload Identity again", project, project, project))
	r.res.Plan = &result.Plan{Title: "check in Google Cloud what the cluster cannot show (gcloud)", Steps: steps}
	if location == " --location=LOCATION" {
		if region := r.nodeLabel(labelRegion); region != "" {
			r.note("LOCATION in the gcloud commands is the cluster's region (%s) for a regional cluster, or its zone for a zonal one", region)
		}
	}
	if addrs, certain, why := r.cluster.addresses(); !certain {
		names := make([]string, len(addrs))
		for i, a := range addrs {
			names[i] = a.String() + " (" + a.when + ")"
		}
		r.note("NetworkPolicies were judged for egress to each of %s: %s", strings.Join(names, ", "), why)
	}
	if len(r.res.Checks) > 0 {
		r.note("the metadata server needs a few seconds to serve a new pod: an application that asks for a token at once should retry, or wait in an initContainer: curl -sS -H 'Metadata-Flavor: Google' 'http://169.254.169.254/computeMetadata/v1/instance/service-accounts/default/token' --retry 30 --retry-connrefused --retry-max-time 60 --connect-timeout 3 --fail --retry-all-errors > /dev/null")
		r.note("whether a pod resolves metadata.google.internal cannot be checked from outside it: if a library asks for GOOGLE_APPLICATION_CREDENTIALS or finds no default credentials, set GCE_METADATA_HOST=169.254.169.254 in the container (the Python, Java and Node.js libraries then skip DNS; Go's already use the address)")
	}
	if zone, one := r.oneZone(); one && (r.cluster.hint.location == "" || zonal(r.cluster.hint.location)) {
		r.note("the nodes checked are all in zone %s: if the cluster is zonal, its control plane is unavailable during upgrades, IP rotation and resizes, and the metadata server answers token requests with HTTP 500 meanwhile; a regional cluster avoids it", zone)
	}
}

func (r *run) nodeLabel(key string) string {
	for _, n := range r.sortedNodes() {
		if v := n.Labels[key]; v != "" {
			return v
		}
	}
	return ""
}

// oneZone says whether every node looked at is in the same zone.
func (r *run) oneZone() (string, bool) {
	zone := ""
	for _, n := range r.sortedNodes() {
		z := n.Labels[labelZone]
		if z == "" || zone != "" && z != zone {
			return "", false
		}
		zone = z
	}
	return zone, zone != ""
}
