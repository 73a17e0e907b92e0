package sources

import (
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"runtime"
	"slices"
	"sync"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/certdoctor/kubectl-certdoctor/pkg/certs"
	"github.com/certdoctor/kubectl-certdoctor/pkg/result"
)

// PageSize is how many objects one list request asks for. Each page is a round trip on
// the critical path; at 1000 (kubectl's --chunk-size is 500) 30,000 secrets list 20%
// faster for the same peak memory (docs/benchmarks.md).
const PageSize = 1000

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
	infos []*result.CertInfo
	err   error
	// leaf is what Go's TLS clients make of the blob's first certificate, judged while
	// the parsed certificate is at hand (lite drops it).
	leaf goVerdict
}

// goVerdict is how Go's TLS clients judge a serving certificate: they refuse SHA-1 and
// MD5 signatures and ignore the Common Name.
type goVerdict struct {
	insecureAlgorithm string // "ECDSA-SHA1"; empty when acceptable
	insecureError     string
	noSANs            bool // a serving certificate with no subject alternative names
	// publicKey is kept, when lite drops the certificate, to compare tls.key with.
	publicKey crypto.PublicKey
}

func judge(c *x509.Certificate) goVerdict {
	v := goVerdict{insecureAlgorithm: certs.InsecureSignature(c), publicKey: c.PublicKey}
	if v.insecureAlgorithm != "" {
		v.insecureError = certs.InsecureSignatureError(c)
	}
	clientOnly := slices.Contains(c.ExtKeyUsage, x509.ExtKeyUsageClientAuth) && !slices.Contains(c.ExtKeyUsage, x509.ExtKeyUsageServerAuth)
	v.noSANs = !c.IsCA && !clientOnly && !certs.HasSANs(c)
	return v
}

// parseCache parses each distinct blob once, and each distinct certificate once: the
// same CA bundle appears in thousands of secrets and every webhook of a product, and
// the same intermediate in every chain it signed.
type parseCache struct {
	blobs    sync.Map // sha256 of the data -> parsed
	certs    sync.Map // sha256 of the DER -> *result.CertInfo
	verdicts sync.Map // sha256 of the DER -> goVerdict
	// lite drops the parsed x509 certificate once described, for sources that report
	// only names and dates: 10,000 secrets then cost kilobytes each, not their DER.
	lite bool
}

func (p *parseCache) parse(data []byte) ([]*result.CertInfo, error) {
	key := sha256.Sum256(data)
	if v, ok := p.blobs.Load(key); ok {
		r := v.(parsed)
		return r.infos, r.err
	}
	var r parsed
	r.err = certs.EachDER(data, func(der []byte) error {
		sum := sha256.Sum256(der)
		if v, ok := p.certs.Load(sum); ok {
			if len(r.infos) == 0 {
				verdict, _ := p.verdicts.Load(sum)
				r.leaf, _ = verdict.(goVerdict)
			}
			r.infos = append(r.infos, v.(*result.CertInfo))
			return nil
		}
		c, err := x509.ParseCertificate(der)
		if err != nil {
			return err
		}
		verdict := judge(c)
		p.verdicts.Store(sum, verdict)
		if len(r.infos) == 0 {
			r.leaf = verdict
		}
		info := certs.DescribeWithSum(c, sum)
		if p.lite {
			info.Cert = nil
		}
		p.certs.Store(sum, info)
		r.infos = append(r.infos, info)
		return nil
	})
	if r.err != nil {
		r.infos = nil
	}
	p.blobs.Store(key, r)
	return r.infos, r.err
}

// verdict is Go's judgment of the first certificate of data, once parse has seen it.
func (p *parseCache) verdict(data []byte) goVerdict {
	v, _ := p.blobs.Load(sha256.Sum256(data))
	r, _ := v.(parsed)
	return r.leaf
}

// EachPage is eachPage for the engines outside this package that list in pages
// (pkg/workloadidentity counts the cluster's service accounts).
func EachPage[T any](ctx context.Context, opts metav1.ListOptions,
	list func(context.Context, metav1.ListOptions) (T, string, error), fn func(T)) error {
	return eachPage(ctx, opts, list, fn)
}
