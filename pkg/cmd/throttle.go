package cmd

import (
	"fmt"
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/certdoctor/kubectl-certdoctor/pkg/diagnose"
)

// throttleBudget is how long after its first 429 a command still lets client-go retry
// 429s (it waits as Retry-After says, backing off up to ten times per request): under a
// starved priority level that stretches a run of a few hundred requests to many minutes.
const throttleBudget = 15 * time.Second

// throttleState is shared by one command's clients: when the API server first answered
// 429. It is not reset by answers in between: a level that lets one request in four
// through would otherwise keep every request retrying.
type throttleState struct {
	budget time.Duration
	now    func() time.Time

	mu    sync.Mutex
	first time.Time // the command's first 429; zero when none
	last  bool      // whether the last answer was a 429
}

func newThrottleState() *throttleState {
	return &throttleState{budget: throttleBudget, now: time.Now}
}

// wrap is a rest.Config WrapTransport: once the budget since the first 429 is spent, it
// removes Retry-After from further 429s, so client-go returns them at once (an
// APIServerThrottled finding) instead of waiting and retrying. A request that fails
// while the last answer was a 429 is marked diagnose.ErrThrottled.
func (s *throttleState) wrap(next http.RoundTripper) http.RoundTripper {
	return roundTripFunc(func(req *http.Request) (*http.Response, error) {
		resp, err := next.RoundTrip(req)
		s.mu.Lock()
		defer s.mu.Unlock()
		if err != nil {
			if s.last {
				// Most likely queued by API Priority and Fairness until the deadline.
				err = fmt.Errorf("%w (%w)", err, diagnose.ErrThrottled)
			}
			return resp, err
		}
		s.last = resp.StatusCode == http.StatusTooManyRequests
		if !s.last {
			return resp, nil
		}
		now := s.now()
		if s.first.IsZero() {
			s.first = now
		}
		left := s.budget - now.Sub(s.first)
		if left <= 0 {
			resp.Header.Del("Retry-After")
			return resp, nil
		}
		// No wait may outlast the budget: the API server's adaptive Retry-After grows to
		// 32 s, past the request timeout, and a request that times out while client-go
		// sleeps reads as "context deadline exceeded", as if the server were down.
		if secs, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && time.Duration(secs)*time.Second > left {
			resp.Header.Set("Retry-After", strconv.Itoa(int(math.Ceil(left.Seconds()))))
		}
		return resp, nil
	})
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
