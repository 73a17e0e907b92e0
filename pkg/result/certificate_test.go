package result

import (
	"testing"
	"time"
)

func TestStatusAt(t *testing.T) {
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	info := func(nb, na time.Time) *CertInfo { return &CertInfo{NotBefore: nb, NotAfter: na} }
	window := 30 * 24 * time.Hour
	tests := []struct {
		i    *CertInfo
		want Status
	}{
		{info(now.Add(-time.Hour), now.Add(60*24*time.Hour)), StatusOK},
		{info(now.Add(-time.Hour), now.Add(window)), StatusExpiring}, // the boundary counts
		{info(now.Add(-time.Hour), now), StatusExpired},              // notAfter itself is past
		{info(now.Add(time.Hour), now.Add(48*time.Hour)), StatusNotYetValid},
	}
	for _, tt := range tests {
		if got := tt.i.StatusAt(now, window); got != tt.want {
			t.Errorf("%v..%v: %s, want %s", tt.i.NotBefore, tt.i.NotAfter, got, tt.want)
		}
	}
}

func TestNewReportAndExitCode(t *testing.T) {
	now := time.Now()
	r := NewReport("expiry", now, nil, []Finding{{Severity: OK}}, nil)
	if r.ExitCode() != ExitOK || r.Summary.Findings != 0 || r.Findings == nil || r.Certificates == nil {
		t.Fatalf("%+v", r)
	}
	if NewReport("x", now, nil, []Finding{{Severity: Warning}}, nil).ExitCode() != ExitWarning {
		t.Fatal("warnings only: 2")
	}
	if NewReport("x", now, nil, []Finding{{Severity: Warning}, {Severity: Critical}}, nil).ExitCode() != ExitCritical {
		t.Fatal("any critical: 3")
	}
}
