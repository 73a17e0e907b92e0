package certs

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// MaxDuration is the longest window ParseDuration accepts: 100 years (36500d). Longer
// ones overflow time.Duration soon after (at about 292 years) and mean nothing for a
// certificate anyway.
const MaxDuration = 36500 * 24 * time.Hour

// durationUnits are the units ParseDuration adds to Go's, by suffix.
var durationUnits = []struct {
	suffix string
	unit   time.Duration
}{{"d", 24 * time.Hour}, {"w", 7 * 24 * time.Hour}}

// ParseDuration accepts Go durations ("720h", "90m") plus whole or fractional days
// ("30d", "1.5d") and weeks ("2w"), the units people think of certificate lifetimes in.
// The result is in [0, MaxDuration]: a negative, non-finite or longer value is an error,
// never a silently overflowed duration.
func ParseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, errors.New("empty duration")
	}
	for _, u := range durationUnits {
		num, ok := strings.CutSuffix(s, u.suffix)
		if !ok {
			continue
		}
		f, err := strconv.ParseFloat(num, 64)
		if err != nil && !errors.Is(err, strconv.ErrRange) {
			return 0, invalidDuration(s, "")
		}
		if math.IsInf(f, 0) && err == nil { // "Inf", "-Infinity": ParseFloat's words, not numbers of days
			return 0, invalidDuration(s, "not a finite number")
		}
		// ErrRange is a number beyond ±1.8e308, returned as ±Inf: too long, or negative.
		if err := checkWindow(s, f*float64(u.unit)); err != nil {
			return 0, err
		}
		return time.Duration(f * float64(u.unit)), nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		// time.ParseDuration also fails for a well-formed duration beyond ±292 years:
		// say that it is too long (or negative), not that it is malformed.
		if f, ok := durationFloat(s); ok {
			if err := checkWindow(s, f); err != nil {
				return 0, err
			}
		}
		return 0, invalidDuration(s, "")
	}
	if err := checkWindow(s, float64(d)); err != nil {
		return 0, err
	}
	return d, nil
}

// checkWindow rejects a window of ns nanoseconds that is not a number, negative or
// longer than MaxDuration.
func checkWindow(s string, ns float64) error {
	switch {
	case math.IsNaN(ns):
		return invalidDuration(s, "not a number")
	case ns < 0:
		return invalidDuration(s, "the window cannot be negative")
	case ns > float64(MaxDuration):
		return fmt.Errorf("%q is more than the maximum of 100 years (36500d)", s)
	}
	return nil
}

func invalidDuration(s, why string) error {
	if why != "" {
		why += "; "
	}
	return fmt.Errorf("invalid duration %q: %suse e.g. 30d, 2w or 720h", s, why)
}

// goUnits are time.ParseDuration's units in nanoseconds.
var goUnits = map[string]float64{"ns": 1, "us": 1e3, "µs": 1e3, "μs": 1e3, "ms": 1e6, "s": 1e9, "m": 60e9, "h": 3600e9}

// durationFloat approximates in float64 a string of Go duration syntax ("2562048h",
// "-1.5h30m"), so that one time.ParseDuration rejects for overflow can be told apart
// from a malformed one. ok is false for anything that is not that syntax.
func durationFloat(s string) (ns float64, ok bool) {
	sign := 1.0
	if rest, cut := strings.CutPrefix(s, "-"); cut {
		s, sign = rest, -1
	} else {
		s = strings.TrimPrefix(s, "+")
	}
	if s == "" {
		return 0, false
	}
	for s != "" {
		i := strings.IndexFunc(s, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
		if i <= 0 {
			return 0, false
		}
		num := s[:i]
		if num == "." || strings.Count(num, ".") > 1 {
			return 0, false
		}
		s = s[i:]
		j := strings.IndexFunc(s, func(r rune) bool { return r >= '0' && r <= '9' || r == '.' })
		if j < 0 {
			j = len(s)
		}
		unit, known := goUnits[s[:j]]
		if !known {
			return 0, false
		}
		s = s[j:]
		f, err := strconv.ParseFloat(num, 64)
		if err != nil && !errors.Is(err, strconv.ErrRange) {
			return 0, false
		}
		ns += f * unit
	}
	return sign * ns, true
}
