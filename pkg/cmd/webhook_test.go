package cmd

import (
	"context"
	"strings"
	"testing"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/kubernetes/fake"
	apiregv1 "k8s.io/kube-aggregator/pkg/apis/apiregistration/v1"
	aggfake "k8s.io/kube-aggregator/pkg/client/clientset_generated/clientset/fake"

	"github.com/certdoctor/kubectl-certdoctor/pkg/result"
	"github.com/certdoctor/kubectl-certdoctor/plugins"
)

func webhookOptions(o *WebhookOptions, kube *fake.Clientset, agg *aggfake.Clientset) *WebhookOptions {
	streams, _, _, _ := genericiooptions.NewTestIOStreams()
	o.CommonOptions = NewCommonOptions(streams)
	o.NoProbe = true
	o.clients = &Clients{Kube: kube, Aggregator: agg}
	return o
}

// --all with nothing to walk (only Local APIServices) is a healthy cluster: exit 0 and
// a note, not a critical "named \"\"".
func TestWebhookAllNothingToWalk(t *testing.T) {
	local := &apiregv1.APIService{ObjectMeta: metav1.ObjectMeta{Name: "v1.apps"}}
	o := webhookOptions(&WebhookOptions{All: true}, fake.NewClientset(), aggfake.NewSimpleClientset(local))
	r, err := o.Run(context.Background())
	if err != nil || r.ExitCode() != result.ExitOK || len(r.Notes) != 1 || !strings.Contains(r.Notes[0], "nothing to walk") {
		t.Fatalf("%+v %v", r, err)
	}
}

// A name that matches nothing is the user's mistake: a one-line error with the names
// that come close; a profile whose product is not installed says so.
func TestWebhookUnknownTarget(t *testing.T) {
	cfg := &admissionv1.ValidatingWebhookConfiguration{ObjectMeta: metav1.ObjectMeta{Name: "ingress-nginx-admission"},
		Webhooks: []admissionv1.ValidatingWebhook{{Name: "validate.nginx.ingress.kubernetes.io"}}}
	o := webhookOptions(&WebhookOptions{target: "ingress-nginx-admision"}, fake.NewClientset(cfg), aggfake.NewSimpleClientset())
	_, err := o.Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), `did you mean ingress-nginx-admission?`) || !strings.Contains(err.Error(), "--list-profiles") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("%v", err)
	}
	all, _ := plugins.All()
	o = webhookOptions(&WebhookOptions{target: "kyverno", profile: all["kyverno"]}, fake.NewClientset(cfg), aggfake.NewSimpleClientset())
	if _, err := o.Run(context.Background()); err == nil || !strings.Contains(err.Error(), "none of kyverno's") || !strings.Contains(err.Error(), "is it installed?") {
		t.Fatalf("%v", err)
	}
}
