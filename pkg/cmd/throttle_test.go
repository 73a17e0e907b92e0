package cmd

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/certdoctor/kubectl-certdoctor/pkg/diagnose"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
)

// A priority level that answers only 429: client-go's retries stop once the budget is
// spent, and the request fails with the 429 (which becomes APIServerThrottled).
func TestThrottleGuardStopsRetriesOfPersistent429(t *testing.T) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		w.Header().Set("Retry-After", "1")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusTooManyRequests)
		_, _ = w.Write([]byte(`{"kind":"Status","apiVersion":"v1","status":"Failure","message":"Too many requests, please try again later.","reason":"TooManyRequests","code":429}`))
	}))
	defer srv.Close()
	st := newThrottleState()
	st.budget = 1500 * time.Millisecond
	k, err := newClientsWithState(&rest.Config{Host: srv.URL}, st)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = k.Kube.CoreV1().Secrets("").List(context.Background(), metav1.ListOptions{})
	took := time.Since(start)
	if !apierrors.IsTooManyRequests(err) {
		t.Fatalf("want the 429, got %v", err)
	}
	if took > 5*time.Second || n.Load() < 2 {
		t.Fatalf("%d requests in %v: want a few retries within the budget, then the error", n.Load(), took)
	}
}

// Answers in between do not renew the budget: a level that lets some requests through
// would otherwise keep every other one retrying. A request that fails while the last
// answer was a 429 (queued by API Priority and Fairness until its deadline) is marked
// throttled, and becomes APIServerThrottled rather than APIServerUnreachable.
func TestThrottleBudgetIsPerCommand(t *testing.T) {
	clock := time.Now()
	st := &throttleState{budget: time.Second, now: func() time.Time { return clock }}
	var status atomic.Int64
	deadline := errors.New("context deadline exceeded")
	rt := st.wrap(roundTripFunc(func(*http.Request) (*http.Response, error) {
		if status.Load() == 0 {
			return nil, deadline
		}
		h := http.Header{}
		h.Set("Retry-After", "1")
		return &http.Response{StatusCode: int(status.Load()), Header: h}, nil
	}))
	get := func() (string, error) {
		resp, err := rt.RoundTrip(httptest.NewRequest("GET", "/", nil))
		if err != nil {
			return "", err
		}
		return resp.Header.Get("Retry-After"), nil
	}
	status.Store(429)
	if h, _ := get(); h != "1" {
		t.Fatal("the first 429 keeps Retry-After")
	}
	status.Store(0)
	if _, err := get(); !errors.Is(err, diagnose.ErrThrottled) || !errors.Is(err, deadline) {
		t.Fatalf("a timeout right after a 429 is marked throttled: %v", err)
	}
	if f := diagnose.FromAPIError("secret", "", fmt.Errorf("list secrets: %w", mustErr(get))); f.Code != "APIServerThrottled" {
		t.Fatalf("finding %s", f.Code)
	}
	status.Store(200)
	get()
	status.Store(0)
	if _, err := get(); errors.Is(err, diagnose.ErrThrottled) {
		t.Fatal("after an answer, a timeout is a timeout")
	}
	// A Retry-After longer than the budget left is cut to it.
	long := &throttleState{budget: 10 * time.Second, now: func() time.Time { return clock }}
	longRT := long.wrap(roundTripFunc(func(*http.Request) (*http.Response, error) {
		return &http.Response{StatusCode: 429, Header: http.Header{"Retry-After": []string{"32"}}}, nil
	}))
	if resp, _ := longRT.RoundTrip(httptest.NewRequest("GET", "/", nil)); resp.Header.Get("Retry-After") != "10" {
		t.Fatalf("Retry-After %q, want it cut to the 10 s left", resp.Header.Get("Retry-After"))
	}
	clock = clock.Add(2 * time.Second)
	status.Store(429)
	if h, _ := get(); h != "" {
		t.Fatal("429s past the budget lose Retry-After, answers in between or not")
	}
}

func mustErr(get func() (string, error)) error {
	_, err := get()
	return err
}
