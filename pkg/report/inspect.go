package report

import (
	"fmt"
	"strings"

	"github.com/certdoctor/kubectl-certdoctor/pkg/result"
)

// printInspection is inspect's view, in kubectl describe's layout: one block per
// certificate, then the chain as verified against each trust source, then the key pair.
func printInspection(w *textWriter, in *result.Inspection) error {
	w.printf("%s: %s\n", in.Object, count(len(in.Certificates), "certificate"))
	for i, d := range in.Certificates {
		w.printf("\nCertificate %d of %d (%s)\n", i+1, len(in.Certificates), d.Where)
		field := func(k, v string) {
			if v != "" {
				w.printf("  %-19s %s\n", k+":", v)
			}
		}
		field("Subject", d.Subject)
		field("Issuer", d.Issuer)
		field("Serial", d.Serial)
		field("Not before", shortTime(d.NotBefore))
		field("Not after", fmt.Sprintf("%s (%s, %s)", shortTime(d.NotAfter), d.Residual, d.Status))
		field("SANs", strings.Join(d.SANs, ", "))
		field("Public key", d.PublicKey)
		field("Signature", d.SignatureAlgorithm)
		field("Key usage", strings.Join(d.KeyUsage, ", "))
		field("Extended key usage", strings.Join(d.ExtKeyUsage, ", "))
		ca := yesNo(d.IsCA)
		if d.MaxPathLen != nil {
			ca += fmt.Sprintf(" (path length %d)", *d.MaxPathLen)
		}
		field("CA", ca)
		field("Subject key ID", d.SubjectKeyID)
		field("Authority key ID", d.AuthorityKeyID)
		field("SHA-256", d.FingerprintSHA256)
	}
	if len(in.Verifications) > 0 {
		w.printf("\n")
		rows := make([][]string, 0, len(in.Verifications))
		for _, v := range in.Verifications {
			detail := strings.Join(v.Chain, " <- ")
			if v.Error != "" {
				detail = v.Error
			}
			rows = append(rows, []string{v.Against, v.Result, detail})
		}
		if err := w.table([]string{"VERIFIED AGAINST", "RESULT", "CHAIN OR ERROR"}, rows); err != nil {
			return err
		}
	}
	switch in.KeyPair {
	case "match":
		w.printf("\nKey pair: tls.key matches tls.crt\n")
	case "mismatch":
		w.printf("\nKey pair: tls.key does NOT match tls.crt (see findings)\n")
	}
	return nil
}
