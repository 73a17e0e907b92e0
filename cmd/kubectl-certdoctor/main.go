// Command kubectl-certdoctor is the kubectl plugin `kubectl certdoctor`.
package main

import (
	"fmt"
	"os"
	"strings"

	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/certdoctor/kubectl-certdoctor/pkg/cmd"
)

func main() {
	streams := genericiooptions.IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr}
	err := cmd.NewCmdCertdoctor(streams).Execute()
	code := cmd.ExitCode(err)
	if err != nil && code == 1 {
		// One line on stderr; stdout stays clean for -o json.
		fmt.Fprintf(os.Stderr, "error: %s\n", strings.Join(strings.Fields(err.Error()), " "))
	}
	os.Exit(code)
}
