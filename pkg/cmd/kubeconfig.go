package cmd

import (
	"errors"
	"fmt"
	"os"

	"github.com/certdoctor/kubectl-certdoctor/pkg/diagnose"
	"github.com/certdoctor/kubectl-certdoctor/pkg/result"
	"github.com/certdoctor/kubectl-certdoctor/pkg/sources"

	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/certdoctor/kubectl-certdoctor/pkg/certs"
	"github.com/certdoctor/kubectl-certdoctor/pkg/fileio"
)

// kubeconfigFiles are the kubeconfig files the flags load (--kubeconfig, else $KUBECONFIG,
// else ~/.kube/config), each checked to be a regular file under the size cap before
// client-go reads it: /dev/zero or a FIFO there would otherwise read or block forever.
func kubeconfigFiles(flags *genericclioptions.ConfigFlags) ([]string, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	files := rules.GetLoadingPrecedence()
	if flags.KubeConfig != nil && *flags.KubeConfig != "" {
		files = []string{*flags.KubeConfig}
	}
	var existing []string
	for _, f := range files {
		err := fileio.CheckRegular(f)
		switch {
		case err == nil:
			existing = append(existing, f)
		case errors.Is(err, os.ErrNotExist):
			// client-go's own message for a missing --kubeconfig is clear; a missing
			// entry of $KUBECONFIG is skipped, as kubectl does.
		default:
			return nil, err
		}
	}
	return existing, nil
}

// loadDespiteProblems loads the kubeconfig files without the fields that made loadErr,
// so the rest can be checked and the findings can name each field. It returns loadErr
// when no such field explains it, and a one-line error for a file that is no kubeconfig.
func loadDespiteProblems(files []string, loadErr error) (clientcmdapi.Config, []kubeconfigProblem, error) {
	merged := clientcmdapi.NewConfig()
	var problems []kubeconfigProblem
	for _, file := range files {
		data, err := fileio.ReadFile(file)
		if err != nil {
			return *merged, nil, err
		}
		clean, found, err := certs.KubeconfigProblems(data)
		if err != nil {
			return *merged, nil, fmt.Errorf("%s: %w", file, err)
		}
		for _, p := range found {
			problems = append(problems, kubeconfigProblem{File: file, KubeconfigProblem: p, LoadErr: loadErr})
		}
		cfg, err := clientcmd.Load(clean)
		if err != nil {
			return *merged, nil, loadErr
		}
		origin(cfg, file)
		if err := clientcmd.ResolveLocalPaths(cfg); err != nil {
			return *merged, nil, loadErr
		}
		mergeFirstWins(merged, cfg)
	}
	if len(problems) == 0 {
		return *merged, nil, loadErr
	}
	return *merged, problems, nil
}

func origin(cfg *clientcmdapi.Config, file string) {
	for _, c := range cfg.Clusters {
		c.LocationOfOrigin = file
	}
	for _, a := range cfg.AuthInfos {
		a.LocationOfOrigin = file
	}
	for _, c := range cfg.Contexts {
		c.LocationOfOrigin = file
	}
}

// mergeFirstWins merges as client-go does across $KUBECONFIG: the first file to set a
// name or the current context wins.
func mergeFirstWins(dst, src *clientcmdapi.Config) {
	if dst.CurrentContext == "" {
		dst.CurrentContext = src.CurrentContext
	}
	for k, v := range src.Clusters {
		if _, ok := dst.Clusters[k]; !ok {
			dst.Clusters[k] = v
		}
	}
	for k, v := range src.AuthInfos {
		if _, ok := dst.AuthInfos[k]; !ok {
			dst.AuthInfos[k] = v
		}
	}
	for k, v := range src.Contexts {
		if _, ok := dst.Contexts[k]; !ok {
			dst.Contexts[k] = v
		}
	}
}

// credentialError is why client-go could not use the context's credentials, with the
// kubeconfig field named, or nil. Files are checked before client-go reads them.
func credentialError(t *KubeconfigTarget) error {
	cfg := t.Rest
	user := "users[" + t.User() + "]"
	cluster := "clusters[" + t.clusterName() + "]"
	for _, f := range []struct{ path, field string }{
		{cfg.CertFile, user + ".client-certificate"},
		{cfg.KeyFile, user + ".client-key"},
		{cfg.BearerTokenFile, user + ".tokenFile"},
		{cfg.CAFile, cluster + ".certificate-authority"},
	} {
		if f.path == "" {
			continue
		}
		if err := fileio.CheckRegular(f.path); err != nil {
			return fmt.Errorf("%s: %w", f.field, err)
		}
	}
	if _, err := rest.TLSConfigFor(cfg); err != nil {
		// client-go names no field; the certificate data is the usual culprit.
		if len(cfg.CertData) > 0 && cfg.CertFile == "" {
			if _, perr := certs.ParseBundle(cfg.CertData); perr != nil {
				return fmt.Errorf("%s.client-certificate-data does not hold a usable certificate (%v): %w", user, perr, err)
			}
		}
		return fmt.Errorf("%s: %w", user, err)
	}
	return nil
}

// reportCredentials turns the kubeconfig fields that did not load, and credentials
// client-go refused, into findings; explained is set when the kubeconfig source already
// named the field that breaks the credentials.
func reportCredentials(c *sources.Collector, t *KubeconfigTarget, explained bool) {
	for _, p := range t.Problems {
		c.Finding(diagnose.NewVariant(diagnose.CodeKubeconfigInvalid, "data",
			diagnose.Where{Source: result.SourceKubeconfig, Subject: "context " + t.ContextName + ", " + p.File},
			diagnose.Params{"field": p.Path(), "err": p.Err.Error(), "kubectlError": p.LoadErr.Error()}))
	}
	if t.CredErr == nil || len(t.Problems) > 0 || explained {
		return
	}
	c.Finding(diagnose.NewVariant(diagnose.CodeKubeconfigInvalid, "credential",
		diagnose.Where{Source: result.SourceKubeconfig, Subject: "context " + t.ContextName},
		diagnose.Params{"err": t.CredErr, "clientErr": clientErr(t)}))
}

// leftOut are the kubeconfig fields that were left out so that the rest could load.
func leftOut(t *KubeconfigTarget) []string {
	var out []string
	for _, p := range t.Problems {
		out = append(out, p.Path())
	}
	return out
}

// clientErr is the bare client-go error behind a credential error, for the kubeconfig
// source to quote as what kubectl prints.
func clientErr(t *KubeconfigTarget) error {
	if t.CredErr == nil || len(t.Problems) > 0 {
		return nil
	}
	if inner := errors.Unwrap(t.CredErr); inner != nil {
		return inner
	}
	return t.CredErr
}
