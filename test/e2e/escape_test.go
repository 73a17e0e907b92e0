//go:build e2e

package e2e

import (
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

// Anyone who can create a TLS secret chooses its certificate's CN and SANs. A CN or SAN
// holding terminal control sequences must reach the admin's terminal escaped, never as
// the sequences themselves ("\x1b[2J" clears the screen, U+202E reverses the text).
func TestTerminalEscapes(t *testing.T) {
	ns := newNamespace(t)
	const cn = "e2e\x1b[2J\x1b[31m\u202eevil"
	ca := newCA(t, "escape-ca\x1b[31m", time.Now().Add(-days(30)), time.Now().Add(days(3650)), nil)
	crt, key, _ := issue(t, ca, CertSpec{CN: cn, Org: []string{"org\x1b[2J"}, DNS: []string{"esc\x1b[2J\x1b[31m.e2e.test", "a\nb.e2e.test"}, Server: true,
		NotBefore: time.Now().Add(-days(80)), NotAfter: time.Now().Add(days(10))}) // expiring: a finding too
	createSecret(t, ns, "escape-tls", corev1.SecretTypeTLS, map[string][]byte{"tls.crt": crt, "tls.key": key, "ca.crt": ca.CertPEM})

	for _, args := range [][]string{{"expiry"}, {"expiry", "-o", "wide", "--show-all"}} {
		stdout, stderr, code := runPlugin(t, args...)
		if code != 2 && code != 3 {
			t.Errorf("%s: exit %d, want a warning (2) or worse\nstderr:\n%s", strings.Join(args, " "), code, stderr)
		}
		for _, out := range []string{stdout, stderr} {
			if i := strings.IndexAny(out, "\x1b\u202e\x7f"); i >= 0 {
				t.Errorf("%s printed a raw control character at byte %d: %q", strings.Join(args, " "), i, out[max(0, i-60):min(len(out), i+60)])
			}
		}
		requireContains(t, "the table of kubectl certdoctor "+strings.Join(args, " "), stdout, `e2e\x1b[2J\x1b[31m\u202eevil`) // the subject, and the finding's message
		requireContains(t, "the table of kubectl certdoctor "+strings.Join(args, " "), stdout, `escape-ca\x1b[31m`)            // the issuer
		if len(args) > 1 {                                                                                                     // wide, each finding listed (not in a group whose first may be another's)
			requireContains(t, "the findings of kubectl certdoctor "+strings.Join(args, " "), stdout, `certificate "e2e\x1b[2J\x1b[31m\u202eevil" expires`)
			requireContains(t, "the SANS column", stdout, `esc\x1b[2J\x1b[31m.e2e.test,a\nb.e2e.test`)
		}
	}

	// JSON and YAML hold the name as it is, in their own quoting.
	for _, format := range []string{"json", "yaml"} {
		stdout, stderr, _ := runPlugin(t, "expiry", "-o", format)
		if strings.Contains(stdout, "\x1b") {
			t.Errorf("-o %s printed a raw ESC", format)
		}
		var r Report
		if err := yaml.Unmarshal([]byte(stdout), &r); err != nil { // YAML reads JSON too
			t.Fatalf("-o %s: %v\nstdout:\n%s\nstderr:\n%s", format, err, stdout, stderr)
		}
		found := false
		for _, c := range r.Certificates {
			found = found || c.Subject == cn && strings.Join(c.SANs, ",") == "esc\x1b[2J\x1b[31m.e2e.test,a\nb.e2e.test"
		}
		if !found {
			t.Errorf("-o %s does not hold the certificate's CN and SANs as they are:\n%s", format, dump(r))
		}
	}
}
