package cmd

import (
	"errors"
	"fmt"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

func TestWebhookDiscoveryFailed(t *testing.T) {
	autopilot := fmt.Errorf("list mutatingwebhookconfigurations: %w", errors.New(`mutatingwebhookconfigurations.admissionregistration.k8s.io is forbidden: User "x" cannot list resource "mutatingwebhookconfigurations": GKEAutopilot authz: cluster scoped resource "mutatingwebhookconfigurations/" is managed and access is denied`))
	r, err := discoveryFailed(time.Now(), autopilot)
	if err != nil || len(r.Findings) != 1 || r.Findings[0].Code != "WebhookConfigurationsManaged" || r.ExitCode() != 2 {
		t.Fatalf("%+v %v", r, err)
	}
	forbidden := fmt.Errorf("list validatingwebhookconfigurations: %w", apierrors.NewForbidden(schema.GroupResource{Group: "admissionregistration.k8s.io", Resource: "validatingwebhookconfigurations"}, "", errors.New("no")))
	if r, err := discoveryFailed(time.Now(), forbidden); err != nil || r.Findings[0].Code != "PermissionDenied" {
		t.Fatalf("%+v %v", r, err)
	}
	if _, err := discoveryFailed(time.Now(), errors.New("boom")); err == nil {
		t.Fatal("an unknown failure is the command's failure")
	}
}
