package cmd

import (
	"os"
	"path/filepath"
	"testing"
)

// In a pod without a kubeconfig, certdoctor uses what kubectl would: the service's
// address, the mounted CA and token file, the pod's namespace. Outside one, nothing.
func TestInClusterKubeconfig(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"KUBERNETES_SERVICE_HOST": "10.96.0.1", "KUBERNETES_SERVICE_PORT": "443"}
	getenv := func(k string) string { return env[k] }
	if _, ok := inClusterKubeconfig(getenv, dir); ok {
		t.Fatal("no token mounted, yet an in-cluster config")
	}
	for name, data := range map[string]string{"token": "header.claims.sig", "ca.crt": "-----BEGIN CERTIFICATE-----", "namespace": "certdoctor\n"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cfg, ok := inClusterKubeconfig(getenv, dir)
	if !ok || cfg.CurrentContext != inClusterContext {
		t.Fatalf("ok %v, %+v", ok, cfg)
	}
	c, u, ctx := cfg.Clusters[inClusterContext], cfg.AuthInfos[inClusterContext], cfg.Contexts[inClusterContext]
	if c.Server != "https://10.96.0.1:443" || c.CertificateAuthority != filepath.Join(dir, "ca.crt") || u.TokenFile != filepath.Join(dir, "token") || u.Token != "" || ctx.Namespace != "certdoctor" {
		t.Errorf("cluster %+v, user %+v, context %+v", c, u, ctx)
	}
	env["KUBERNETES_SERVICE_HOST"] = "fd00::1"
	if cfg, _ := inClusterKubeconfig(getenv, dir); cfg.Clusters[inClusterContext].Server != "https://[fd00::1]:443" {
		t.Errorf("IPv6 server %q", cfg.Clusters[inClusterContext].Server)
	}
	delete(env, "KUBERNETES_SERVICE_PORT")
	if _, ok := inClusterKubeconfig(getenv, dir); ok {
		t.Error("not in a pod (no service port), yet an in-cluster config")
	}
}
