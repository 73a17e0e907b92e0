package cmd

import (
	"net/http"
	"sync"
	"time"
)

// throttleBudget is how long certdoctor lets the API server answer 429 without a single
// other answer before it stops waiting: client-go retries every 429 that carries
// Retry-After up to ten times per request, so a starved priority level would otherwise
// stretch a run of a few hundred requests to many minutes.
const throttleBudget = 20 * time.Second

// throttleState is shared by one command's clients: since when the API server has
// answered nothing but 429.
type throttleState struct {
	budget time.Duration
	now    func() time.Time

	mu    sync.Mutex
	since time.Time // first 429 since the last other answer; zero when none
}

func newThrottleState() *throttleState {
	return &throttleState{budget: throttleBudget, now: time.Now}
}

// wrap is a rest.Config WrapTransport: while 429s keep coming for longer than the
// budget, it removes their Retry-After, so client-go returns the 429 at once (an
// APIServerThrottled finding) instead of retrying it. Any other answer resets it.
func (s *throttleState) wrap(next http.RoundTripper) http.RoundTripper {
	return roundTripFunc(func(req *http.Request) (*http.Response, error) {
		resp, err := next.RoundTrip(req)
		if err != nil {
			return resp, err
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		if resp.StatusCode != http.StatusTooManyRequests {
			s.since = time.Time{}
			return resp, nil
		}
		now := s.now()
		if s.since.IsZero() {
			s.since = now
		}
		if now.Sub(s.since) > s.budget {
			resp.Header.Del("Retry-After")
		}
		return resp, nil
	})
}

// active is whether the last answer was a 429.
func (s *throttleState) active() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return !s.since.IsZero()
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
