package sources

import (
	"testing"

	"github.com/certdoctor/kubectl-certdoctor/pkg/certs/certstest"
)

// A certificate shared by many blobs (an intermediate in every chain it signed) is
// parsed once; a bad blob is an error every time it is seen, not only the first.
func TestParseCacheSharesCertificates(t *testing.T) {
	root := certstest.NewCA("root")
	inter := root.Issue(certstest.Opts{CN: "intermediate", IsCA: true})
	a := inter.Issue(certstest.Opts{CN: "a"})
	b := inter.Issue(certstest.Opts{CN: "b"})
	var p parseCache
	ca, err := p.parse(certstest.Bundle(a, inter))
	if err != nil {
		t.Fatal(err)
	}
	cb, err := p.parse(certstest.Bundle(b, inter))
	if err != nil {
		t.Fatal(err)
	}
	if len(ca) != 2 || len(cb) != 2 || ca[0].Subject != "a" || cb[0].Subject != "b" {
		t.Fatalf("chains: %+v %+v", ca, cb)
	}
	if ca[1] != cb[1] || ca[1].Subject != "intermediate" {
		t.Errorf("the intermediate was described twice")
	}
	for i := 0; i < 2; i++ {
		if _, err := p.parse([]byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")); err == nil {
			t.Errorf("call %d: garbage parsed", i)
		}
	}
}
