package cmd

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/certdoctor/kubectl-certdoctor/pkg/nodes"
	"github.com/certdoctor/kubectl-certdoctor/pkg/report"
)

// NodeFlags choose the nodes whose disks are read through debug pods.
type NodeFlags struct {
	nodes.Options
	Skip bool
}

func addNodeFlags(cmd *cobra.Command, n *NodeFlags) {
	f := cmd.Flags()
	f.StringSliceVar(&n.Nodes, "nodes", n.Nodes, "Check these nodes' disks (comma-separated names) instead of the control-plane nodes.")
	f.StringVarP(&n.Selector, "selector", "l", n.Selector, "Check the disks of the nodes matching this label selector.")
	f.BoolVar(&n.AllNodes, "all-nodes", n.AllNodes, "Check every node's disk (workers: the kubelet's certificates).")
	f.BoolVar(&n.Skip, "skip-nodes", n.Skip, "Do not read nodes' disks (no debug pods).")
	f.StringVar(&n.Image, "image", n.Image, "Image of the debug pods (any image with a POSIX sh, find and awk; e.g. a mirror of busybox).")
	f.StringVar(&n.ImagePullSecret, "image-pull-secret", n.ImagePullSecret, "Pull secret for --image, in --debug-namespace.")
	f.StringVar(&n.Namespace, "debug-namespace", n.Namespace, "Namespace of the debug pods; must allow hostPath volumes (Pod Security privileged).")
	f.DurationVar(&n.Timeout, "pod-timeout", n.Timeout, "How long a debug pod may run (its activeDeadlineSeconds).")
	f.IntVar(&n.Parallel, "max-debug-pods", n.Parallel, "How many debug pods may run at once.")
	f.StringVar(&n.Distro, "distro", n.Distro, "Certificate layout on the nodes: "+strings.Join(nodes.PresetNames(), ", ")+".")
	f.StringVar(&n.Layout.PKIDir, "node-pki-dir", n.Layout.PKIDir, "kubeadm layout: the certificatesDir on the nodes (default /etc/kubernetes/pki).")
	f.StringVar(&n.Layout.KubeconfigDir, "node-kubeconfig-dir", n.Layout.KubeconfigDir, "kubeadm layout: where the nodes keep admin.conf, kubelet.conf, ... (default /etc/kubernetes).")
	f.StringVar(&n.Layout.KubeletPKIDir, "node-kubelet-pki-dir", n.Layout.KubeletPKIDir, "kubeadm layout: the kubelet's certificate directory on the nodes (default /var/lib/kubelet/pki).")
}

func (n *NodeFlags) validate() error {
	if _, ok := nodes.Presets[n.Distro]; !ok && n.Distro != "auto" {
		return fmt.Errorf("unknown --distro %q: use one of %s", n.Distro, strings.Join(nodes.PresetNames(), ", "))
	}
	for _, d := range []string{n.Layout.PKIDir, n.Layout.KubeconfigDir, n.Layout.KubeletPKIDir} {
		if d != "" && !strings.HasPrefix(d, "/") {
			return fmt.Errorf("node directories must be absolute paths, got %q", d)
		}
	}
	if n.Timeout < time.Second {
		return fmt.Errorf("--pod-timeout must be at least 1s")
	}
	if n.Parallel < 1 {
		return fmt.Errorf("--max-debug-pods must be at least 1")
	}
	if n.Skip && (len(n.Nodes) > 0 || n.Selector != "" || n.AllNodes) {
		return fmt.Errorf("--skip-nodes cannot be combined with --nodes, -l or --all-nodes")
	}
	return nil
}

// progressWriter is stderr when a person watches it and the output is a table.
func progressWriter(o *CommonOptions) io.Writer {
	if o.Output == report.FormatJSON || o.Output == report.FormatYAML {
		return nil
	}
	if f, ok := o.ErrOut.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		return o.ErrOut
	}
	return nil
}
