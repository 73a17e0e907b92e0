package diagnose

// Finding codes: the only place each is declared in Go. Every one has an entry in
// catalogue.yaml and a line in docs/output.md (catalogue_test.go checks all three
// agree). They are part of the output contract: add, never rename.
const (
	CodeExpired             = "CertificateExpired"
	CodeNotYetValid         = "CertificateNotYetValid"
	CodeExpiring            = "CertificateExpiring"
	CodeMissing             = "CertificateMissing"
	CodeInvalid             = "CertificateInvalid"
	CodeWrongIssuer         = "CertificateWrongIssuer"
	CodeInsecureSignature   = "CertificateInsecureSignature"
	CodeLegacyCommonName    = "CertificateLegacyCommonName"
	CodeStaleServing        = "ServingStaleCertificate"
	CodeCertificateNotReady = "CertificateNotReady"
	CodeRenewalOverdue      = "CertificateRenewalOverdue"
	CodeSANMissing          = "SANMissing"
	CodeTrustBundleStaleCA  = "TrustBundleStaleCA"

	CodeUnknownAuthority  = "UnknownAuthority"
	CodeHostnameMismatch  = "HostnameMismatch"
	CodeUnreachable       = "APIServerUnreachable"
	CodeUnauthorized      = "Unauthorized"
	CodeIdentityMismatch  = "IdentityMismatch"
	CodeTokenExpired      = "TokenExpired"
	CodeExecNotFound      = "ExecPluginNotFound"
	CodeThrottled         = "APIServerThrottled"
	CodePermissionDenied  = "PermissionDenied"
	CodeSourceFailed      = "SourceFailed"
	CodeKubeconfigInvalid = "KubeconfigInvalid"
	CodeInsecureSkipTLS   = "InsecureSkipTLSVerify"

	CodeNodeCheckFailed   = "NodeCheckFailed"
	CodeNodeChecksBlocked = "NodeChecksBlocked"
	CodeDebugPodsLeft     = "DebugPodsLeftBehind"
	CodeSAKeyMismatch     = "ServiceAccountKeyMismatch"
	CodeSAKeyNotPublished = "ServiceAccountKeyNotPublished"
	CodeSAIssuerMismatch  = "ServiceAccountIssuerMismatch"

	CodeWebhookConfigsManaged  = "WebhookConfigurationsManaged"
	CodeWebhookSelfDeadlock    = "WebhookSelfDeadlock"
	CodeWebhookServiceNotFound = "WebhookServiceNotFound"
	CodeWebhookServicePort     = "WebhookServicePort"
	CodeWebhookNoEndpoints     = "WebhookNoEndpoints"
	CodeWebhookPodNotReady     = "WebhookPodNotReady"
	CodeWebhookProbePort       = "WebhookReadinessProbePort"
	CodeWebhookLeaderElection  = "WebhookLeaderElection"
	CodeWebhookPortMismatch    = "WebhookPortMismatch"
	CodeWebhookHostNetworkPort = "WebhookHostNetworkKubeletPort"
	CodeWebhookFirewall        = "WebhookProviderFirewall"
	CodeWebhookNetworkPolicy   = "WebhookNetworkPolicy"
	CodeWebhookCABundle        = "WebhookCABundle"
	CodeWebhookCABundleDiffers = "WebhookCABundleMismatch"
	CodeWebhookCAInjection     = "WebhookCAInjection"
	CodeWebhookServedCert      = "WebhookServedCertificate"
	CodeWebhookUnreachable     = "WebhookUnreachable"
	CodeWebhookSlow            = "WebhookSlow"
	// CodeWebhookAPIServiceUnavailable: the aggregator's Available condition is False.
	CodeWebhookAPIServiceUnavailable = "WebhookAPIServiceUnavailable"
	CodeWebhookCallFailed            = "WebhookCallFailed"
)

// Key pairs and weak or doomed crypto (issue 21): judged wherever certificates are.
const (
	CodeKeyMismatch  = "KeyDoesNotMatch" // explain recognised it before the check existed
	CodeKeyInvalid   = "TLSKeyInvalid"
	CodeWeakKey      = "CertificateWeakKey"
	CodeNoServerAuth = "CertificateNoServerAuth"
	CodeCannotSign   = "CertificateCannotSign"
	CodeSerialNumber = "CertificateSerialNumber"
)

// GKE Workload Identity (seed 003): the findings of `kubectl certdoctor workload-identity`.
const (
	CodeWIAnnotation        = "WorkloadIdentityAnnotation"
	CodeWIHostNetwork       = "WorkloadIdentityHostNetwork"
	CodeWINodePool          = "WorkloadIdentityNodePool"
	CodeWIMetadataServerPod = "WorkloadIdentityMetadataServerPod"
	CodeWINetworkPolicy     = "WorkloadIdentityNetworkPolicy"
	CodeWIIstio             = "WorkloadIdentityIstio"
	CodeWIMetadataHost      = "WorkloadIdentityMetadataHost"
)

// Certificate signing requests and kubelet serving certificates (issue 21): findings of
// the csr and kubelet sources of expiry.
const (
	CodeKubeletServingCertificate = "KubeletServingCertificate"
	CodeKubeletClientCSR          = "KubeletClientCertificateRequest"
	CodeCSRDenied                 = "CertificateRequestDenied"
	CodeCSRNotIssued              = "CertificateRequestNotIssued"
)
