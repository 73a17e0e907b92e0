package certs

import (
	"strings"
	"testing"
	"time"

	"github.com/certdoctor/kubectl-certdoctor/internal/fuzzseed"
)

const day = 24 * time.Hour

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		err  string // a substring of the error; "" means accepted
	}{
		// Every form that worked keeps working.
		{"30d", 30 * day, ""},
		{"1.5d", 36 * time.Hour, ""},
		{"2w", 14 * day, ""},
		{"720h", 720 * time.Hour, ""},
		{"90m", 90 * time.Minute, ""},
		{"1h30m", 90 * time.Minute, ""},
		{" 14d ", 14 * day, ""},
		{"+5d", 5 * day, ""},
		{"0", 0, ""},
		{"0d", 0, ""},
		// The boundary: 100 years.
		{"36500d", MaxDuration, ""},
		{"5214w", 5214 * 7 * day, ""},
		{"876000h", MaxDuration, ""},
		{"36501d", 0, `"36501d" is more than the maximum of 100 years (36500d)`},
		{"36500.001d", 0, "more than the maximum of 100 years (36500d)"},
		{"5215w", 0, "more than the maximum"},
		{"876001h", 0, `"876001h" is more than the maximum of 100 years (36500d)`},
		// Values that overflowed time.Duration and turned warnings off.
		{"106752d", 0, `"106752d" is more than the maximum of 100 years (36500d)`},
		{"99999999999d", 0, "more than the maximum"},
		{"1e6d", 0, "more than the maximum"},
		{"1e400d", 0, "more than the maximum"},
		{"15251w", 0, `"15251w" is more than the maximum of 100 years (36500d)`},
		{"2562047h", 0, "more than the maximum"},
		{"9999999h", 0, `"9999999h" is more than the maximum of 100 years (36500d)`},
		{"99999999999999999999h", 0, "more than the maximum"},
		// Not numbers.
		{"Infd", 0, `invalid duration "Infd": not a finite number`},
		{"+Infd", 0, "not a finite number"},
		{"-Infd", 0, "not a finite number"},
		{"infinityw", 0, "not a finite number"},
		{"NaNd", 0, `invalid duration "NaNd": not a number`},
		{"nanw", 0, "not a number"},
		// Negative windows.
		{"-5d", 0, `invalid duration "-5d": the window cannot be negative`},
		{"-1d", 0, "cannot be negative"},
		{"-2w", 0, "cannot be negative"},
		{"-3h", 0, "cannot be negative"},
		{"-99999999999d", 0, "cannot be negative"},
		{"-9999999h", 0, "cannot be negative"},
		// Malformed.
		{"", 0, "empty duration"},
		{"  ", 0, "empty duration"},
		{"abc", 0, `invalid duration "abc": use e.g. 30d, 2w or 720h`},
		{"thirty days", 0, `invalid duration "thirty days"`},
		{"10x", 0, "invalid duration"},
		{"d", 0, "invalid duration"},
		{"5 d", 0, "invalid duration"},
		{"1d12h", 0, "invalid duration"},
		{"9999999x", 0, "invalid duration"},
	}
	for _, tt := range tests {
		got, err := ParseDuration(tt.in)
		switch {
		case tt.err == "" && (err != nil || got != tt.want):
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		case tt.err != "" && err == nil:
			t.Errorf("ParseDuration(%q) = %v, accepted; want an error containing %q", tt.in, got, tt.err)
		case tt.err != "" && !strings.Contains(err.Error(), tt.err):
			t.Errorf("ParseDuration(%q) error %q, want it to contain %q", tt.in, err, tt.err)
		case err != nil && strings.Contains(err.Error(), "\n"):
			t.Errorf("ParseDuration(%q) error %q is not one line", tt.in, err)
		}
	}
}

// parseDurationSeeds are FuzzParseDuration's seeds (testdata/fuzz/FuzzParseDuration/seed-*,
// written from this list by UPDATE_FUZZ_SEEDS=1 go test -run '^FuzzParseDuration$').
var parseDurationSeeds = []string{
	"30d", "1.5d", "2w", "720h", "90m", "1h30m", "0", "36500d", "36501d", "876000h", "106752d",
	"99999999999d", "1e6d", "Infd", "NaNd", "15251w", "-5d", "9999999h", " 14d ", "0x1p4d", "1_0d", "1.5µs",
}

// FuzzParseDuration: whatever --warn-within says, the window ParseDuration accepts is
// within [0, 100 years], and an error is one line.
func FuzzParseDuration(f *testing.F) {
	for _, s := range parseDurationSeeds {
		f.Add(s)
	}
	fuzzseed.Write(f, parseDurationSeeds)
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDuration(s)
		if err != nil {
			if d != 0 {
				t.Fatalf("ParseDuration(%q) = %v with error %v", s, d, err)
			}
			if msg := err.Error(); strings.ContainsAny(msg, "\n\r") {
				t.Fatalf("ParseDuration(%q): error %q is not one line", s, msg)
			}
			return
		}
		if d < 0 || d > MaxDuration {
			t.Fatalf("ParseDuration(%q) = %v (%d), outside [0, %v]", s, d, int64(d), MaxDuration)
		}
		// A Go duration that time.ParseDuration reads is read the same.
		if want, err := time.ParseDuration(strings.TrimSpace(s)); err == nil && want != d {
			t.Fatalf("ParseDuration(%q) = %v, time.ParseDuration says %v", s, d, want)
		}
	})
}
