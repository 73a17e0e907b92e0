package cmd

import (
	"bytes"
	"io"
	"os"
	"strings"
	"testing"

	"k8s.io/klog/v2"
)

// At -v=0 nothing klog logs reaches the terminal, errors included (client-go's
// port-forward logs one for every stream the probe closes); at -v=6 the log goes to the
// command's stderr, once.
func TestLogging(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	saved := os.Stderr
	os.Stderr = w
	defer func() { os.Stderr = saved }()

	var cmdErr bytes.Buffer
	if err := (&logging{level: 0}).start(&cmdErr); err != nil {
		t.Fatal(err)
	}
	klog.ErrorS(nil, "Error copying from local connection to remote stream")
	klog.Flush()
	if err := (&logging{level: 6}).start(&cmdErr); err != nil {
		t.Fatal(err)
	}
	klog.V(6).Info("GET https://127.0.0.1:6443/api 200 OK")
	klog.Flush()
	w.Close()
	leaked, _ := io.ReadAll(r)
	QuietLogs()

	if len(leaked) != 0 {
		t.Errorf("klog wrote to the process's stderr: %q", leaked)
	}
	if got := cmdErr.String(); strings.Contains(got, "remote stream") || strings.Count(got, "GET https://127.0.0.1:6443/api") != 1 {
		t.Errorf("command stderr: %q", got)
	}
}
