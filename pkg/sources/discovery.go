package sources

import (
	"context"
	"errors"
	"reflect"

	"k8s.io/client-go/discovery"
	"k8s.io/client-go/rest"
)

// Discovery's methods take no context, so a server that stops answering would hold
// Ctrl-C for the whole request timeout: these ask the same paths under ctx. Fakes,
// which have no REST client, answer through the context-free methods.

// ServerVersion asks the server for /version.
func ServerVersion(ctx context.Context, d discovery.DiscoveryInterface) error {
	if rc := restClient(d); rc != nil {
		return rc.Get().AbsPath("/version").Do(ctx).Error()
	}
	_, err := d.ServerVersion()
	return err
}

// groupVersionServed asks whether the server serves groupVersion (e.g. cert-manager.io/v1);
// a NotFound error means it does not.
func groupVersionServed(ctx context.Context, d discovery.DiscoveryInterface, groupVersion string) error {
	if rc := restClient(d); rc != nil {
		return rc.Get().AbsPath("/apis/" + groupVersion).Do(ctx).Error()
	}
	_, err := d.ServerResourcesForGroupVersion(groupVersion)
	return err
}

func restClient(d discovery.DiscoveryInterface) rest.Interface {
	rc := d.RESTClient()
	if rc == nil || reflect.ValueOf(rc).IsNil() {
		return nil
	}
	return rc
}

// FetchPublished reads what the cluster publishes for service-account token verifiers
// (service account issuer discovery): /openid/v1/jwks and /.well-known/openid-configuration.
func FetchPublished(ctx context.Context, d discovery.DiscoveryInterface) Published {
	rc := restClient(d)
	if rc == nil {
		return Published{Err: errNoRESTClient}
	}
	var p Published
	// The clients ask for protobuf, which these JSON documents are not served as (406).
	if p.JWKS, p.Err = rc.Get().AbsPath("/openid/v1/jwks").SetHeader("Accept", "application/jwk-set+json, application/json").DoRaw(ctx); p.Err != nil {
		return p
	}
	p.OpenIDConfig, p.Err = rc.Get().AbsPath("/.well-known/openid-configuration").SetHeader("Accept", "application/json").DoRaw(ctx)
	return p
}

var errNoRESTClient = errors.New("no REST client to ask the API server with")
