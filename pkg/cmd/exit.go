package cmd

import (
	"errors"
	"fmt"
	"strings"

	"github.com/certdoctor/kubectl-certdoctor/pkg/nodes"
	"github.com/certdoctor/kubectl-certdoctor/pkg/result"
)

// ExitError carries a non-zero exit status that is not a failure of the command:
// findings were reported (2 warnings only, 3 critical), or the run was interrupted
// (130). main exits with Code, printing Note on stderr when there is one.
type ExitError struct {
	Code int
	Note string
}

func (e *ExitError) Error() string { return fmt.Sprintf("exit status %d", e.Code) }

// ExitInterrupted is the status after Ctrl-C or SIGTERM (128+SIGINT, as shells report it).
const ExitInterrupted = 130

// ExitCode maps the error a command returned to the process exit status.
func ExitCode(err error) int {
	var ee *ExitError
	switch {
	case err == nil:
		return result.ExitOK
	case errors.As(err, &ee):
		return ee.Code
	}
	return result.ExitFailed
}

// interrupted is what a command returns once a signal cancelled it, after its cleanup.
func interrupted(o command) error {
	note := "interrupted"
	if d, ok := o.(debugPodUser); ok && d.usesDebugPods() {
		note = "interrupted: debug pods were deleted"
		if left := d.undeleted().List(); len(left) > 0 {
			note = "interrupted: debug pods " + strings.Join(left, ", ") + " could not be deleted; run kubectl certdoctor cleanup once the API server answers"
		}
	}
	return &ExitError{Code: ExitInterrupted, Note: note}
}

// debugPodUser is a command that may create debug pods.
type debugPodUser interface {
	usesDebugPods() bool
	undeleted() *nodes.Undeleted
}
