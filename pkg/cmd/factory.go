package cmd

import (
	"fmt"
	"os"
	"sync"

	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/certdoctor/kubectl-certdoctor/pkg/certs"
)

// Factory turns kubectl's connection flags into what the commands need. Nothing is
// resolved until a command asks, so `expiry --local` and `webhook --list-profiles`
// never touch a kubeconfig; unit tests replace it with one that returns fakes.
type Factory interface {
	// Kubeconfig is the context the flags select, loaded once.
	Kubeconfig() (*KubeconfigTarget, error)
	// ClientsFor builds the API clients for cfg, the kubeconfig's.
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
	// CredErr says why Rest's credentials cannot be used (broken certificate data, a key
	// that does not match, a file that cannot be read). Rest then still reaches the
	// server without credentials: its certificate can be checked, nothing else.
	CredErr error
	// Problems are the fields that kept a kubeconfig file from loading; they were left
	// out of Raw so that the rest of it could be checked.
	Problems []kubeconfigProblem
}

// kubeconfigProblem is a field of one kubeconfig file client-go cannot load.
type kubeconfigProblem struct {
	File string
	certs.KubeconfigProblem
	// LoadErr is the error kubectl prints for the whole file.
	LoadErr error
}

// User is the kubeconfig user the context authenticates as (--user wins).
func (t *KubeconfigTarget) User() string {
	return t.contextField(t.UserName, func(c *clientcmdapi.Context) string { return c.AuthInfo })
}

// clusterName is the kubeconfig cluster the context uses (--cluster wins).
func (t *KubeconfigTarget) clusterName() string {
	return t.contextField(t.ClusterName, func(c *clientcmdapi.Context) string { return c.Cluster })
}

func (t *KubeconfigTarget) contextField(flag string, field func(*clientcmdapi.Context) string) string {
	if flag != "" {
		return flag
	}
	if c := t.Raw.Contexts[t.ContextName]; c != nil {
		return field(c)
	}
	return ""
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
	if f.flags.Timeout != nil {
		// Checked here as well as in Validate: the loader reads the flag first.
		if err := validateRequestTimeout(*f.flags.Timeout); err != nil {
			return nil, err
		}
	}
	raw, problems, err := loadRaw(f.flags)
	if err != nil {
		return nil, err
	}
	if len(raw.Contexts) == 0 && !f.explicitKubeconfig() {
		// kubectl's own fallback, which the flags' loader applies for the REST config
		// below; raw describes it for the checks that read the kubeconfig.
		if pod, ok := inClusterKubeconfig(os.Getenv, serviceAccountDir); ok {
			raw = pod
		}
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
	t := &KubeconfigTarget{Raw: raw, ContextName: name, Problems: problems}
	if f.flags.AuthInfoName != nil {
		t.UserName = *f.flags.AuthInfoName
	}
	if f.flags.ClusterName != nil {
		t.ClusterName = *f.flags.ClusterName
	}
	if cluster := t.clusterName(); raw.Clusters[cluster] == nil && (f.flags.APIServer == nil || *f.flags.APIServer == "") {
		// client-go would quietly dial http://localhost:8080 instead.
		return nil, fmt.Errorf("context %q uses cluster %q, which is not in the kubeconfig", name, cluster)
	}
	if len(problems) > 0 {
		// The flags' loader would fail on the same file: build the configuration from
		// what did load, for the one thing it is still good for, dialing the server.
		overrides := &clientcmd.ConfigOverrides{Context: clientcmdapi.Context{Cluster: t.ClusterName, AuthInfo: t.UserName}}
		t.Rest, t.RestErr = clientcmd.NewNonInteractiveClientConfig(raw, name, overrides, nil).ClientConfig()
		t.CredErr = problems[0]
	} else {
		t.Rest, t.RestErr = f.flags.ToRESTConfig()
	}
	if t.Rest != nil {
		if t.Rest.Timeout == 0 {
			t.Rest.Timeout = defaultRequestTimeout
		}
		if t.CredErr == nil {
			t.CredErr = credentialError(t)
		}
	}
	return t, nil
}

// explicitKubeconfig says whether the user named a kubeconfig (--kubeconfig, $KUBECONFIG)
// or connection flags: then an empty one is an error, never a quiet switch to the pod's
// own service account.
func (f *flagFactory) explicitKubeconfig() bool {
	set := func(p *string) bool { return p != nil && *p != "" }
	return set(f.flags.KubeConfig) || os.Getenv("KUBECONFIG") != "" || set(f.flags.Context) || set(f.flags.APIServer)
}

// loadRaw loads the merged kubeconfig the flags name, without the fields that keep a
// file from loading (problems names them).
func loadRaw(flags *genericclioptions.ConfigFlags) (clientcmdapi.Config, []kubeconfigProblem, error) {
	files, err := kubeconfigFiles(flags)
	if err != nil {
		return clientcmdapi.Config{}, nil, fmt.Errorf("cannot load kubeconfig: %w", err)
	}
	raw, err := flags.ToRawKubeConfigLoader().RawConfig()
	var problems []kubeconfigProblem
	if err != nil {
		if raw, problems, err = loadDespiteProblems(files, err); err != nil {
			return raw, nil, fmt.Errorf("cannot load kubeconfig: %w", err)
		}
	}
	return raw, problems, nil
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
	if t.CredErr != nil {
		return nil, nil, t.CredErr
	}
	c, err := f.ClientsFor(t.Rest)
	return t, c, err
}
