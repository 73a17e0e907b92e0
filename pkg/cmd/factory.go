package cmd

import (
	"fmt"
	"sync"

	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/rest"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// Factory turns kubectl's connection flags into what the commands need. Nothing is
// resolved until a command asks, so `expiry --local` and `webhook --list-profiles`
// never touch a kubeconfig; unit tests replace it with one that returns fakes.
type Factory interface {
	// Kubeconfig is the context the flags select, loaded once.
	Kubeconfig() (*KubeconfigTarget, error)
	// ClientsFor builds the API clients for cfg: the kubeconfig's own, or a copy
	// re-targeted at a name the served certificate covers (trustedDespiteHost).
	ClientsFor(cfg *rest.Config) (*Clients, error)
}

// KubeconfigTarget is the kubeconfig context in use, resolved from the flags.
type KubeconfigTarget struct {
	Raw         clientcmdapi.Config
	ContextName string
	// UserName and ClusterName are --user and --cluster, when given.
	UserName, ClusterName string
	// Rest is nil when the context cannot be turned into a client configuration
	// (RestErr says why); the kubeconfig itself can still be checked.
	Rest    *rest.Config
	RestErr error
}

// NewFactory is the Factory over the command line's ConfigFlags.
func NewFactory(flags *genericclioptions.ConfigFlags) Factory { return &flagFactory{flags: flags} }

type flagFactory struct {
	flags  *genericclioptions.ConfigFlags
	once   sync.Once
	target *KubeconfigTarget
	err    error
}

// Kubeconfig loads the kubeconfig and picks the context the flags select. A kubeconfig
// that does not load or a context that does not exist is an error: there is nothing
// to check.
func (f *flagFactory) Kubeconfig() (*KubeconfigTarget, error) {
	f.once.Do(func() { f.target, f.err = f.load() })
	return f.target, f.err
}

func (f *flagFactory) load() (*KubeconfigTarget, error) {
	raw, err := f.flags.ToRawKubeConfigLoader().RawConfig()
	if err != nil {
		return nil, fmt.Errorf("cannot load kubeconfig: %w", err)
	}
	name := raw.CurrentContext
	if f.flags.Context != nil && *f.flags.Context != "" {
		name = *f.flags.Context
	}
	if name == "" {
		return nil, fmt.Errorf("no current context in the kubeconfig: use --context or kubectl config use-context")
	}
	if raw.Contexts[name] == nil {
		return nil, fmt.Errorf("context %q not found in the kubeconfig", name)
	}
	t := &KubeconfigTarget{Raw: raw, ContextName: name}
	if f.flags.AuthInfoName != nil {
		t.UserName = *f.flags.AuthInfoName
	}
	if f.flags.ClusterName != nil {
		t.ClusterName = *f.flags.ClusterName
	}
	t.Rest, t.RestErr = f.flags.ToRESTConfig()
	if t.Rest != nil && t.Rest.Timeout == 0 {
		t.Rest.Timeout = defaultRequestTimeout
	}
	return t, nil
}

func (f *flagFactory) ClientsFor(cfg *rest.Config) (*Clients, error) { return newClients(cfg) }

// connect is what a command that only works against the cluster needs: a usable
// kubeconfig context and its clients.
func connect(f Factory) (*KubeconfigTarget, *Clients, error) {
	t, err := f.Kubeconfig()
	if err != nil {
		return nil, nil, err
	}
	if t.Rest == nil {
		return nil, nil, t.RestErr
	}
	c, err := f.ClientsFor(t.Rest)
	return t, c, err
}
