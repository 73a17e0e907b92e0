package identity

import (
	"encoding/base64"
	"encoding/json"
	"math"
	"strings"
	"time"

	"github.com/certdoctor/kubectl-certdoctor/pkg/result"
)

// parseJWT reads the claims of a JWT without verifying it (certdoctor holds no key to
// verify with; the API server does that). Only the claims are kept: the token and its
// signature are dropped here and never reach a report.
func parseJWT(raw string) (*result.Token, bool) {
	parts := strings.Split(strings.TrimSpace(raw), ".")
	if len(parts) != 3 {
		return nil, false
	}
	var header struct {
		Alg string `json:"alg"`
	}
	if !decodeSegment(parts[0], &header) || header.Alg == "" {
		return nil, false
	}
	var claims struct {
		Issuer    string          `json:"iss"`
		Subject   string          `json:"sub"`
		Audience  json.RawMessage `json:"aud"`
		Expires   json.Number     `json:"exp"`
		NotBefore json.Number     `json:"nbf"`
	}
	if !decodeSegment(parts[1], &claims) {
		return nil, false
	}
	t := &result.Token{Issuer: claims.Issuer, Subject: claims.Subject, Audiences: audiences(claims.Audience),
		Expires: unixTime(claims.Expires), NotBefore: unixTime(claims.NotBefore)}
	return t, true
}

func decodeSegment(seg string, v any) bool {
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(seg, "="))
	if err != nil {
		return false
	}
	d := json.NewDecoder(strings.NewReader(string(b)))
	d.UseNumber()
	return d.Decode(v) == nil
}

// audiences reads aud, which RFC 7519 allows as one string or a list.
func audiences(raw json.RawMessage) []string {
	var one string
	if json.Unmarshal(raw, &one) == nil {
		if one == "" {
			return nil
		}
		return []string{one}
	}
	var many []string
	if json.Unmarshal(raw, &many) == nil {
		return many
	}
	return nil
}

// unixTime reads a NumericDate (seconds, possibly fractional); nil when absent or absurd.
func unixTime(n json.Number) *time.Time {
	if n == "" {
		return nil
	}
	f, err := n.Float64()
	if err != nil || math.IsNaN(f) || f < 0 || f > 1e11 {
		return nil
	}
	t := time.Unix(int64(f), 0).UTC()
	return &t
}
