package sources

import (
	"context"
	"crypto/tls"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/certdoctor/kubectl-certdoctor/pkg/certs/certstest"
)

func TestServed(t *testing.T) {
	ca := certstest.NewCA("other-ca")
	leaf := ca.Issue(certstest.Expired())
	requireClient := certstest.TLSConfig(leaf, ca)
	requireClient.ClientAuth = tls.RequireAnyClientCert
	for name, cfg := range map[string]*tls.Config{"untrusted and expired": certstest.TLSConfig(leaf, ca), "client cert required": requireClient} {
		t.Run(name, func(t *testing.T) {
			chain, err := Served(context.Background(), certstest.ServeTLS(t, cfg), "", 2*time.Second)
			if err != nil || len(chain) != 2 || chain[0].SerialNumber.Cmp(leaf.Cert.SerialNumber) != 0 {
				t.Fatalf("chain %d, %v", len(chain), err)
			}
		})
	}
	closed, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := closed.Addr().String()
	closed.Close()
	if _, err := Served(context.Background(), addr, "", time.Second); err == nil || !strings.Contains(err.Error(), "refused") {
		t.Fatalf("closed port: %v", err)
	}
	silent, _ := net.Listen("tcp", "127.0.0.1:0") // accepts, never speaks TLS
	defer silent.Close()
	start := time.Now()
	if _, err := Served(context.Background(), silent.Addr().String(), "", 300*time.Millisecond); err == nil || time.Since(start) > 3*time.Second {
		t.Fatalf("silent server: %v after %s", err, time.Since(start))
	}
}
