package nodes

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// Leftovers lists debug pods certdoctor created that still exist (namespace "" for
// all namespaces): the label is the only thing trusted, never a name pattern.
func Leftovers(ctx context.Context, client kubernetes.Interface, namespace string) ([]corev1.Pod, error) {
	l, err := client.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{LabelSelector: ManagedByLabel + "=" + ManagedByValue})
	if err != nil {
		return nil, err
	}
	return l.Items, nil
}

// DeletePods deletes pods, treating ones already gone as deleted.
func DeletePods(ctx context.Context, client kubernetes.Interface, pods []corev1.Pod) []error {
	errs := make([]error, len(pods))
	for i, p := range pods {
		err := client.CoreV1().Pods(p.Namespace).Delete(ctx, p.Name, metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			errs[i] = err
		}
	}
	return errs
}
