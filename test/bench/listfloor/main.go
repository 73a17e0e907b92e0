// Command listfloor lists the TLS secrets the way certdoctor's secret source does
// (protobuf, pages of sources.PageSize, the same field selector) and does nothing else:
// the floor for any client that pages, against which hack/bench.sh sets certdoctor's
// time. The raw unpaged list with curl is the floor for any client at all.
package main

import (
	"context"
	"fmt"
	"os"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/certdoctor/kubectl-certdoctor/pkg/sources"
)

func main() {
	if err := run(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, "listfloor:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	cfg, err := clientcmd.BuildConfigFromFlags("", os.Getenv("KUBECONFIG"))
	if err != nil {
		return err
	}
	cfg.ContentType = "application/vnd.kubernetes.protobuf"
	cfg.AcceptContentTypes = "application/vnd.kubernetes.protobuf,application/json"
	cfg.QPS, cfg.Burst = -1, 0
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	opts := metav1.ListOptions{FieldSelector: "type=" + string(corev1.SecretTypeTLS), Limit: sources.PageSize}
	items, pages := 0, 0
	for {
		l, err := client.CoreV1().Secrets("").List(ctx, opts)
		if err != nil {
			return err
		}
		items += len(l.Items)
		pages++
		if l.Continue == "" {
			break
		}
		opts.Continue = l.Continue
	}
	fmt.Printf("%d secrets in %d pages\n", items, pages)
	return nil
}
