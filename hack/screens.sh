#!/usr/bin/env bash
# screens.sh: refresh docs/screens/, the real output the README shows, from the e2e cluster
# (as root): the e2e suite with E2E_SCREENS set, so each screen is a scenario's table whose
# diagnosis the same test asserts. `explain` needs no cluster and is captured here.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$root/docs/screens"
cd "$root"
go build -o bin/kubectl-certdoctor ./cmd/kubectl-certdoctor
msg='Error from server (InternalError): Internal error occurred: failed calling webhook "webhook.cert-manager.io": failed to call webhook: Post "https://cert-manager-webhook.cert-manager.svc:443/validate?timeout=30s": context deadline exceeded'
{ echo "\$ kubectl certdoctor explain '$msg'"; bin/kubectl-certdoctor explain "$msg"; echo "(exit code $?)"; } >docs/screens/explain-webhook-timeout.txt
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
