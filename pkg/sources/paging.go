package sources

import (
	"context"
	"crypto/sha256"
	"runtime"
	"sync"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/certdoctor/kubectl-certdoctor/pkg/certs"
)

// PageSize is how many objects one list request asks for.
const PageSize = 500

type page[T any] struct {
	items T
	err   error
}

// eachPage lists in pages of PageSize and hands each page to fn, fetching the next page
// while fn works on the current one, so a large list costs one round trip per page at
// most and never holds more than two pages.
func eachPage[T any](ctx context.Context, opts metav1.ListOptions,
	list func(context.Context, metav1.ListOptions) (T, string, error), fn func(T)) error {
	opts.Limit = PageSize
	ch := make(chan page[T], 1)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		defer close(ch)
		for {
			items, next, err := list(ctx, opts)
			select {
			case ch <- page[T]{items, err}:
			case <-ctx.Done():
				return
			}
			if err != nil || next == "" {
				return
			}
			opts.Continue = next
		}
	}()
	for p := range ch {
		if p.err != nil {
			return p.err
		}
		fn(p.items)
	}
	return nil
}

// parallel runs fn(i) for i in [0,n) on every CPU.
func parallel(n int, fn func(i int)) {
	workers := runtime.GOMAXPROCS(0)
	if n < 64 || workers == 1 {
		for i := 0; i < n; i++ {
			fn(i)
		}
		return
	}
	var wg sync.WaitGroup
	chunk := (n + workers - 1) / workers
	for start := 0; start < n; start += chunk {
		end := min(start+chunk, n)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := start; i < end; i++ {
				fn(i)
			}
		}()
	}
	wg.Wait()
}

// parsed is the outcome of parsing one blob of certificate data.
type parsed struct {
	infos []*certs.Info
	err   error
}

// parseCache parses each distinct blob once: the same CA bundle appears in thousands
// of secrets and every webhook of a product.
type parseCache struct {
	m sync.Map
	// lite drops the parsed x509 certificate once described, for sources that report
	// only names and dates: 10,000 secrets then cost kilobytes each, not their DER.
	lite bool
}

func (p *parseCache) parse(data []byte) ([]*certs.Info, error) {
	key := sha256.Sum256(data)
	if v, ok := p.m.Load(key); ok {
		r := v.(parsed)
		return r.infos, r.err
	}
	chain, err := certs.ParseBundle(data)
	r := parsed{err: err}
	if err == nil {
		r.infos = make([]*certs.Info, len(chain))
		for i, c := range chain {
			r.infos[i] = certs.Describe(c)
			if p.lite {
				r.infos[i].Cert = nil
			}
		}
	}
	p.m.Store(key, r)
	return r.infos, r.err
}
