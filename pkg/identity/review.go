package identity

import (
	"context"
	"errors"

	authenticationv1 "k8s.io/api/authentication/v1"
	authenticationv1beta1 "k8s.io/api/authentication/v1beta1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/certdoctor/kubectl-certdoctor/pkg/result"
)

// ErrReviewNotServed: the API server serves SelfSubjectReview in no version certdoctor
// knows (it is GA since Kubernetes 1.28, beta in 1.27).
var ErrReviewNotServed = errors.New("the API server does not serve SelfSubjectReview (authentication.k8s.io/v1 or v1beta1; Kubernetes 1.27 or later)")

// Review asks the API server who the request runs as, as `kubectl auth whoami` does.
func Review(ctx context.Context, client kubernetes.Interface) (*result.UserInfo, error) {
	v1, err := client.AuthenticationV1().SelfSubjectReviews().Create(ctx, &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
	if err == nil {
		return userInfo(v1.Status.UserInfo), nil
	}
	if !notServed(err) {
		return nil, err
	}
	beta, err := client.AuthenticationV1beta1().SelfSubjectReviews().Create(ctx, &authenticationv1beta1.SelfSubjectReview{}, metav1.CreateOptions{})
	if err == nil {
		return userInfo(beta.Status.UserInfo), nil
	}
	if notServed(err) {
		return nil, ErrReviewNotServed
	}
	return nil, err
}

// notServed: the version is not served (404, or 405 from an aggregator in front).
func notServed(err error) bool {
	return apierrors.IsNotFound(err) || apierrors.IsMethodNotSupported(err)
}

func userInfo(u authenticationv1.UserInfo) *result.UserInfo {
	info := &result.UserInfo{Username: u.Username, UID: u.UID, Groups: u.Groups}
	if len(u.Extra) > 0 {
		info.Extra = map[string][]string{}
		for k, v := range u.Extra {
			info.Extra[k] = v
		}
	}
	return info
}
