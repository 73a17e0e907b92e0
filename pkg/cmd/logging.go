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
func (l *logging) start(stderr io.Writer) error { return configureKlog(l.level, stderr) }

// QuietLogs silences klog until the flags are read (main calls it first).
func QuietLogs() { _ = configureKlog(0, io.Discard) }

// configureKlog sends klog to stderr from level 1 up and nowhere at 0. klog also copies
// errors to the process's stderr by itself (stderrthreshold, ERROR by default), which
// would print client-go's port-forward stream errors at -v=0: the threshold is raised
// above every level klog logs at.
func configureKlog(level int, stderr io.Writer) error {
	fs := flag.NewFlagSet("klog", flag.ContinueOnError)
	klog.InitFlags(fs)
	for name, value := range map[string]string{"v": strconv.Itoa(level), "logtostderr": "false", "alsologtostderr": "false", "stderrthreshold": "FATAL"} {
		if err := fs.Set(name, value); err != nil {
			return err
		}
	}
	if level > 0 {
		klog.SetOutput(stderr)
	} else {
		klog.SetOutput(io.Discard)
	}
	return nil
}
