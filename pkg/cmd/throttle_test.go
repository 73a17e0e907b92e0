package cmd

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

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
// would otherwise keep every other one retrying.
func TestThrottleBudgetIsPerCommand(t *testing.T) {
	clock := time.Now()
	st := &throttleState{budget: time.Second, now: func() time.Time { return clock }}
	var status atomic.Int64
	rt := st.wrap(roundTripFunc(func(*http.Request) (*http.Response, error) {
		h := http.Header{}
		h.Set("Retry-After", "1")
		return &http.Response{StatusCode: int(status.Load()), Header: h}, nil
	}))
	get := func() string {
		resp, _ := rt.RoundTrip(httptest.NewRequest("GET", "/", nil))
		return resp.Header.Get("Retry-After")
	}
	status.Store(429)
	if get() != "1" || !st.active() {
		t.Fatal("the first 429 keeps Retry-After")
	}
	status.Store(200)
	if get(); st.active() {
		t.Fatal("an answer: not throttled now")
	}
	clock = clock.Add(2 * time.Second)
	status.Store(429)
	if get() != "" {
		t.Fatal("429s past the budget lose Retry-After, answers in between or not")
	}
}
