package cmd

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/tools/clientcmd"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

// serviceMonitor is the part of prometheus-operator's monitoring.coreos.com/v1
// ServiceMonitor that deploy/servicemonitor.yaml uses, field names as in the CRD of
// prometheus-operator 0.84.1: decoding strictly into it rejects a misspelt field.
type serviceMonitor struct {
	metav1.TypeMeta `json:",inline"`
	Metadata        metav1.ObjectMeta `json:"metadata"`
	Spec            struct {
		Selector          metav1.LabelSelector `json:"selector"`
		NamespaceSelector struct {
			Any        bool     `json:"any,omitempty"`
			MatchNames []string `json:"matchNames,omitempty"`
		} `json:"namespaceSelector"`
		Endpoints []struct {
			Port          string `json:"port,omitempty"`
			Path          string `json:"path,omitempty"`
			Interval      string `json:"interval,omitempty"`
			ScrapeTimeout string `json:"scrapeTimeout,omitempty"`
		} `json:"endpoints"`
	} `json:"spec"`
}

// deployObjects are the objects of deploy/*.yaml, by kind.
type deployObjects struct {
	namespaces      map[string]bool
	serviceAccounts map[string]bool // namespace/name
	configMaps      map[string]*corev1.ConfigMap
	roles           map[string]bool // Kind/namespace/name of rbac.yaml's roles
	bindings        []binding
	workloads       []workload
	services        []*corev1.Service
	monitors        []*serviceMonitor
}

type binding struct {
	file     string
	roleRef  rbacv1.RoleRef
	ns       string
	subjects []rbacv1.Subject
}

// workload is a Deployment's or a CronJob's pod template.
type workload struct {
	name, ns string
	pod      corev1.PodTemplateSpec
}

// decodeStrict decodes as the API server does with fieldValidation=Strict: a repeated
// key, or a field unknown in the exact case of its name, fails (encoding/json alone would
// take readOnlyRootFileSystem for readOnlyRootFilesystem).
func decodeStrict[T any](t *testing.T, where string, doc []byte) *T {
	t.Helper()
	obj := new(T)
	j, err := yaml.YAMLToJSONStrict(doc)
	if err == nil {
		var strict []error
		strict, err = kjson.UnmarshalStrict(j, obj, kjson.DisallowUnknownFields)
		err = errors.Join(append(strict, err)...)
	}
	if err != nil {
		t.Fatalf("%s: %v", where, err)
	}
	return obj
}

func loadDeploy(t *testing.T) *deployObjects {
	t.Helper()
	files, err := filepath.Glob("../../deploy/*.yaml")
	if err != nil || len(files) < 5 {
		t.Fatalf("deploy/*.yaml: %v %v", files, err)
	}
	d := &deployObjects{namespaces: map[string]bool{}, serviceAccounts: map[string]bool{}, configMaps: map[string]*corev1.ConfigMap{}, roles: map[string]bool{}}
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
		for i := 0; ; i++ {
			doc, err := r.Read()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", file, err)
			}
			where := filepath.Base(file) + " document " + strconv.Itoa(i)
			var tm metav1.TypeMeta
			if err := yaml.Unmarshal(doc, &tm); err != nil {
				t.Fatalf("%s: %v", where, err)
			}
			d.add(t, filepath.Base(file), where, tm, doc)
		}
	}
	return d
}

func (d *deployObjects) add(t *testing.T, file, where string, tm metav1.TypeMeta, doc []byte) {
	t.Helper()
	switch tm.APIVersion + " " + tm.Kind {
	case "v1 Namespace":
		d.namespaces[decodeStrict[corev1.Namespace](t, where, doc).Name] = true
	case "v1 ServiceAccount":
		sa := decodeStrict[corev1.ServiceAccount](t, where, doc)
		d.serviceAccounts[sa.Namespace+"/"+sa.Name] = true
	case "v1 ConfigMap":
		cm := decodeStrict[corev1.ConfigMap](t, where, doc)
		d.configMaps[cm.Namespace+"/"+cm.Name] = cm
	case "v1 Service":
		d.services = append(d.services, decodeStrict[corev1.Service](t, where, doc))
	case "rbac.authorization.k8s.io/v1 ClusterRole":
		d.addRole(t, file, "ClusterRole//"+decodeStrict[rbacv1.ClusterRole](t, where, doc).Name)
	case "rbac.authorization.k8s.io/v1 Role":
		r := decodeStrict[rbacv1.Role](t, where, doc)
		d.addRole(t, file, "Role/"+r.Namespace+"/"+r.Name)
	case "rbac.authorization.k8s.io/v1 ClusterRoleBinding":
		b := decodeStrict[rbacv1.ClusterRoleBinding](t, where, doc)
		d.bindings = append(d.bindings, binding{file, b.RoleRef, "", b.Subjects})
	case "rbac.authorization.k8s.io/v1 RoleBinding":
		b := decodeStrict[rbacv1.RoleBinding](t, where, doc)
		d.bindings = append(d.bindings, binding{file, b.RoleRef, b.Namespace, b.Subjects})
	case "apps/v1 Deployment":
		dep := decodeStrict[appsv1.Deployment](t, where, doc)
		if sel, err := metav1.LabelSelectorAsSelector(dep.Spec.Selector); err != nil || !sel.Matches(labels.Set(dep.Spec.Template.Labels)) {
			t.Errorf("%s: the Deployment's selector does not match its pods (%v)", where, err)
		}
		d.workloads = append(d.workloads, workload{dep.Name, dep.Namespace, dep.Spec.Template})
	case "batch/v1 CronJob":
		cj := decodeStrict[batchv1.CronJob](t, where, doc)
		d.workloads = append(d.workloads, workload{cj.Name, cj.Namespace, cj.Spec.JobTemplate.Spec.Template})
	case "monitoring.coreos.com/v1 ServiceMonitor":
		d.monitors = append(d.monitors, decodeStrict[serviceMonitor](t, where, doc))
	default:
		t.Errorf("%s: %s %s is not a kind this test knows", where, tm.APIVersion, tm.Kind)
	}
}

// addRole keeps the roles of rbac.yaml: bindings elsewhere must refer to those, never to
// roles of their own.
func (d *deployObjects) addRole(t *testing.T, file, key string) {
	if file != "rbac.yaml" {
		t.Errorf("%s: %s; the roles live in rbac.yaml", file, key)
	}
	d.roles[key] = true
}

// Every deploy/*.yaml decodes strictly; the workloads run as the ServiceAccount the
// bindings bind to every role of rbac.yaml; their arguments are flags of the real command
// tree; serve's --listen port is the containerPort, the Service port and the probes' port;
// the ServiceMonitor scrapes that Service's port.
func TestDeployManifests(t *testing.T) {
	d := loadDeploy(t)
	boundRoles := map[string][]string{} // ServiceAccount -> roles
	for _, b := range d.bindings {
		key := b.roleRef.Kind + "/" + b.ns + "/" + b.roleRef.Name
		if b.roleRef.Kind == "ClusterRole" {
			key = "ClusterRole//" + b.roleRef.Name
		}
		if !d.roles[key] {
			t.Errorf("%s: a binding refers to %s, which rbac.yaml does not hold", b.file, key)
		}
		for _, s := range b.subjects {
			if s.Kind != rbacv1.ServiceAccountKind {
				continue
			}
			sa := s.Namespace + "/" + s.Name
			if !d.serviceAccounts[sa] {
				t.Errorf("%s: binds ServiceAccount %s, which no manifest creates", b.file, sa)
			}
			boundRoles[sa] = append(boundRoles[sa], key)
		}
	}
	if len(d.workloads) != 2 || len(d.services) != 1 || len(d.monitors) != 1 {
		t.Fatalf("%d workloads, %d services, %d service monitors; want the CronJob and the Deployment, one Service, one ServiceMonitor",
			len(d.workloads), len(d.services), len(d.monitors))
	}
	servePort := 0
	for _, w := range d.workloads {
		sa := w.ns + "/" + w.pod.Spec.ServiceAccountName
		if !d.namespaces[w.ns] || len(boundRoles[sa]) != len(d.roles) {
			t.Errorf("%s: runs as %s in namespace %q, bound to %v; want a ServiceAccount of a manifest's namespace bound to every role of rbac.yaml",
				w.name, sa, w.ns, boundRoles[sa])
		}
		if p := d.checkPod(t, w); p != 0 {
			servePort = p
		}
	}
	svc := d.services[0]
	if servePort == 0 || len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].Name != "metrics" || int(svc.Spec.Ports[0].Port) != servePort {
		t.Errorf("the Service's ports %+v; want one named metrics on serve's --listen port %d", svc.Spec.Ports, servePort)
	}
	for _, w := range d.workloads {
		if w.ns == svc.Namespace && labels.SelectorFromSet(svc.Spec.Selector).Matches(labels.Set(w.pod.Labels)) {
			if !slices.Contains(w.pod.Spec.Containers[0].Args, "serve") {
				t.Errorf("the Service selects %s, which does not run serve", w.name)
			}
		}
	}
	m := d.monitors[0]
	sel, err := metav1.LabelSelectorAsSelector(&m.Spec.Selector)
	if err != nil || !sel.Matches(labels.Set(svc.Labels)) || !slices.Equal(m.Spec.NamespaceSelector.MatchNames, []string{svc.Namespace}) ||
		len(m.Spec.Endpoints) != 1 || m.Spec.Endpoints[0].Port != svc.Spec.Ports[0].Name || m.Spec.Endpoints[0].Path != "/metrics" {
		t.Errorf("the ServiceMonitor does not scrape the Service's metrics port: %+v (%v)", m.Spec, err)
	}
}

// checkPod checks a workload's one container and returns serve's --listen port (0 for
// a container that does not run serve).
func (d *deployObjects) checkPod(t *testing.T, w workload) int {
	t.Helper()
	spec := w.pod.Spec
	if len(spec.Containers) != 1 {
		t.Fatalf("%s: %d containers", w.name, len(spec.Containers))
	}
	c := spec.Containers[0]
	if !slices.Equal(c.Command, []string{"kubectl-certdoctor"}) || c.Image != "ghcr.io/certdoctor/kubectl-certdoctor:VERSION" {
		t.Errorf("%s: command %q, image %q", w.name, c.Command, c.Image)
	}
	psc, sc := spec.SecurityContext, c.SecurityContext
	if psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot || psc.SeccompProfile == nil || psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault ||
		sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation ||
		sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) {
		t.Errorf("%s: security contexts %+v %+v", w.name, psc, sc)
	}
	if c.Resources.Requests.Cpu().IsZero() || c.Resources.Requests.Memory().IsZero() || c.Resources.Limits.Memory().IsZero() {
		t.Errorf("%s: resources %+v", w.name, c.Resources)
	}

	// The arguments, parsed by the real command tree: a renamed flag fails here.
	streams, _, _, _ := genericiooptions.NewTestIOStreams()
	root := NewCmdCertdoctor(streams)
	cmd, rest, err := root.Find(c.Args)
	if err == nil {
		err = cmd.ParseFlags(rest)
	}
	if err != nil || len(cmd.Flags().Args()) > 0 {
		t.Fatalf("%s: args %q: %v (left over: %q)", w.name, c.Args, err, cmd.Flags().Args())
	}
	d.checkKubeconfig(t, w, cmd.Flags().Lookup("kubeconfig").Value.String())
	if cmd.Name() != "serve" {
		return 0
	}
	_, port, err := net.SplitHostPort(cmd.Flags().Lookup("listen").Value.String())
	n, _ := strconv.Atoi(port)
	if err != nil || len(c.Ports) != 1 || c.Ports[0].Name != "metrics" || int(c.Ports[0].ContainerPort) != n {
		t.Errorf("%s: --listen %s, container ports %+v", w.name, cmd.Flags().Lookup("listen").Value, c.Ports)
	}
	for what, p := range map[string]*corev1.Probe{"liveness": c.LivenessProbe, "readiness": c.ReadinessProbe} {
		if p == nil || p.HTTPGet == nil || p.HTTPGet.Path != "/healthz" || p.HTTPGet.Port.String() != "metrics" {
			t.Errorf("%s: %s probe %+v; want GET /healthz on the metrics port", w.name, what, p)
		}
	}
	return n
}

// checkKubeconfig: --kubeconfig is the file the pod mounts from the kubeconfig ConfigMap,
// whose context uses the pod's ServiceAccount token and CA.
func (d *deployObjects) checkKubeconfig(t *testing.T, w workload, file string) {
	t.Helper()
	dir, key := path.Split(file)
	var cm *corev1.ConfigMap
	for _, m := range w.pod.Spec.Containers[0].VolumeMounts {
		if path.Clean(m.MountPath) != path.Clean(dir) || !m.ReadOnly {
			continue
		}
		for _, v := range w.pod.Spec.Volumes {
			if v.Name == m.Name && v.ConfigMap != nil {
				cm = d.configMaps[w.ns+"/"+v.ConfigMap.Name]
			}
		}
	}
	if cm == nil || cm.Data[key] == "" {
		t.Fatalf("%s: --kubeconfig %q is not a key of a ConfigMap the pod mounts read-only", w.name, file)
	}
	cfg, err := clientcmd.Load([]byte(cm.Data[key]))
	if err != nil {
		t.Fatalf("%s: kubeconfig: %v", w.name, err)
	}
	const sa = "/var/run/secrets/kubernetes.io/serviceaccount/"
	ctx := cfg.Contexts[cfg.CurrentContext]
	if ctx == nil || cfg.Clusters[ctx.Cluster] == nil || cfg.AuthInfos[ctx.AuthInfo] == nil ||
		cfg.Clusters[ctx.Cluster].CertificateAuthority != sa+"ca.crt" || cfg.AuthInfos[ctx.AuthInfo].TokenFile != sa+"token" ||
		!strings.HasPrefix(cfg.Clusters[ctx.Cluster].Server, "https://kubernetes.default.svc") ||
		w.pod.Spec.AutomountServiceAccountToken == nil || !*w.pod.Spec.AutomountServiceAccountToken {
		t.Errorf("%s: the kubeconfig's current context does not use the pod's ServiceAccount token and CA: %+v", w.name, cfg)
	}
}
