#!/usr/bin/env bash
# screens.sh: refresh docs/screens/, the real output the README shows, from the e2e cluster
# (as root; --offline for the explain screens only): the e2e suite with E2E_SCREENS set, so each screen is a scenario's table whose
# diagnosis the same test asserts. `explain` needs no cluster and is captured here.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$root/docs/screens"
cd "$root"
go build -o bin/kubectl-certdoctor ./cmd/kubectl-certdoctor
# explain needs no cluster: the errors users paste, as the seeds quote them.
explain_screen() { # NAME MESSAGE
  { echo "\$ kubectl certdoctor explain '$2'"; bin/kubectl-certdoctor explain "$2"; echo "(exit code $?)"; } >"docs/screens/$1.txt"
}
explain_screen explain-webhook-timeout 'Error from server (InternalError): Internal error occurred: failed calling webhook "webhook.cert-manager.io": failed to call webhook: Post "https://cert-manager-webhook.cert-manager.svc:443/validate?timeout=30s": context deadline exceeded'
explain_screen explain-gke-forbidden 'Error from server (Forbidden): roles.rbac.authorization.k8s.io is forbidden:
User "example-account@example-project.iam.gserviceaccount.com" cannot list resource "roles" in
API group "rbac.authorization.k8s.io" in the namespace "kube-system": requires
one of ["container.roles.list"] permission(s).'
explain_screen explain-gke-metadata 'Retry limit exceeded. Failed to wait for metadata server to be available. Check if the gke-metadata-server Pod in the kube-system namespace is healthy.'
# --offline: only the explain screens and the README splice (no cluster, no root).
[ "${1:-}" = --offline ] ||
E2E_SCREENS=$root/docs/screens hack/e2e/run.sh
# Splice the screens into README.md between <!-- screen NAME --> and <!-- /screen -->.
awk -v dir="$root/docs/screens" '
  /^<!-- screen [a-z0-9-]+ -->$/ {
    print; file = dir "/" $3 ".txt"; print "```text"
    while ((getline line < file) > 0) print line
    close(file); print "```"; skip = 1; next
  }
  /^<!-- \/screen -->$/ { skip = 0 }
  !skip { print }' README.md >README.md.new
mv README.md.new README.md
echo "screens: $(ls docs/screens | wc -l) files in docs/screens, README.md updated"
