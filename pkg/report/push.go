package report

import (
	"context"
	"fmt"
	"net/http"

	"github.com/prometheus/client_golang/prometheus/push"
	"github.com/prometheus/common/expfmt"

	"github.com/certdoctor/kubectl-certdoctor/pkg/result"
)

// PushJob is the Pushgateway job certdoctor pushes under.
const PushJob = "certdoctor"

// Push PUTs the report's metrics (those -o prometheus prints) to the Pushgateway at url,
// one group per cluster: url/metrics/job/certdoctor/cluster/<cluster>. A PUT replaces
// the group, so a finding fixed since the last run disappears from it. client nil is
// http.DefaultClient; ctx bounds every request.
func Push(ctx context.Context, client *http.Client, url string, r *result.Report, o Options) error {
	reg, err := Metrics(r, o)
	if err != nil {
		return err
	}
	clusters, err := Clusters(reg)
	if err != nil {
		return err
	}
	if client == nil {
		client = http.DefaultClient
	}
	for _, c := range clusters {
		p := push.New(url, PushJob).Client(client).Gatherer(ofCluster(reg, c)).Grouping("cluster", c).
			Format(expfmt.NewFormat(expfmt.TypeTextPlain))
		if err := p.PushContext(ctx); err != nil {
			return fmt.Errorf("cannot push the metrics to the Pushgateway: %w", err)
		}
	}
	return nil
}
