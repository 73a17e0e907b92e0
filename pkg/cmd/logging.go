package cmd

import (
	"flag"
	"io"
	"strconv"

	"github.com/spf13/pflag"
	"k8s.io/klog/v2"
)

// logging is kubectl's -v: klog verbosity, 6 and up tracing client-go's requests
// (client-go never logs credentials at any level). At 0, klog is silent: certdoctor
// reports what matters itself, and client-go's port-forward logs every closed stream.
type logging struct{ level int }

func (l *logging) addFlags(flags *pflag.FlagSet) {
	flags.IntVarP(&l.level, "v", "v", 0, "Log level, as kubectl's: 6 shows each request to the API server, 8 their bodies.")
}

// start applies the level before any client is built.
func (l *logging) start(stderr io.Writer) error {
	fs := flag.NewFlagSet("klog", flag.ContinueOnError)
	klog.InitFlags(fs)
	if err := fs.Set("v", strconv.Itoa(l.level)); err != nil {
		return err
	}
	if err := fs.Set("logtostderr", "false"); err != nil {
		return err
	}
	if l.level > 0 {
		klog.SetOutput(stderr)
	} else {
		klog.SetOutput(io.Discard)
	}
	return nil
}
