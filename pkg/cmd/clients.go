package cmd

import (
	"time"

	apiext "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"
	aggregator "k8s.io/kube-aggregator/pkg/client/clientset_generated/clientset"

	"github.com/certdoctor/kubectl-certdoctor/pkg/fileio"
)

// defaultRequestTimeout bounds each API request when --request-timeout is not set, so
// a hung server cannot hang a diagnosis tool.
const defaultRequestTimeout = 30 * time.Second

// defaultDialTimeout bounds a bare TLS handshake with the API server.
const defaultDialTimeout = 10 * time.Second

// Clients are the API clients the checks use. Everything takes interfaces so unit
// tests can pass client-go's fakes.
type Clients struct {
	Kube       kubernetes.Interface
	Dynamic    dynamic.Interface
	Metadata   metadata.Interface
	Aggregator aggregator.Interface
	APIExt     apiext.Interface
	Discovery  discovery.DiscoveryInterface
}

// caData is the CA the client configuration trusts, inline or from its file.
func caData(cfg *rest.Config) ([]byte, error) {
	if len(cfg.CAData) > 0 || cfg.CAFile == "" {
		return cfg.CAData, nil
	}
	return fileio.ReadFile(cfg.CAFile)
}

// newClients builds the clients. Core and aggregated types speak protobuf: on large
// clusters it is several times cheaper to decode than JSON.
func newClients(cfg *rest.Config) (*Clients, error) {
	return newClientsWithState(cfg, newThrottleState())
}

// newClientsWithState is newClients with the 429 budget its clients share.
func newClientsWithState(cfg *rest.Config, throttle *throttleState) (*Clients, error) {
	cfg = rest.CopyConfig(cfg)
	cfg.Wrap(throttle.wrap)
	if cfg.QPS == 0 {
		// client-go's default (5/s, burst 10) would throttle the paged lists of a large
		// cluster: 10,000 secrets are 20 pages for each of two sources.
		cfg.QPS, cfg.Burst = 50, 100
	}
	proto := rest.CopyConfig(cfg)
	proto.ContentType = "application/vnd.kubernetes.protobuf"
	proto.AcceptContentTypes = "application/vnd.kubernetes.protobuf,application/json"
	c := &Clients{}
	var err error
	if c.Kube, err = kubernetes.NewForConfig(proto); err != nil {
		return nil, err
	}
	if c.Aggregator, err = aggregator.NewForConfig(proto); err != nil {
		return nil, err
	}
	if c.APIExt, err = apiext.NewForConfig(proto); err != nil {
		return nil, err
	}
	if c.Dynamic, err = dynamic.NewForConfig(cfg); err != nil {
		return nil, err
	}
	if c.Metadata, err = metadata.NewForConfig(cfg); err != nil {
		return nil, err
	}
	c.Discovery = c.Kube.Discovery()
	return c, nil
}
