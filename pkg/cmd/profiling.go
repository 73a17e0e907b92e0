package cmd

import (
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"

	"github.com/spf13/pflag"
)

// profiling holds kubectl's --profile/--profile-output flags (hidden here): they let
// anyone reproduce docs/benchmarks.md's profiles against their own cluster.
type profiling struct {
	name, output string
	cpuFile      *os.File
	// started is set once start accepted the name: flush writes nothing otherwise, so a
	// bad --profile leaves no file behind.
	started bool
}

func (p *profiling) addFlags(flags *pflag.FlagSet) {
	flags.StringVar(&p.name, "profile", "none", "Name of profile to capture: none, cpu, heap, allocs, goroutine, threadcreate, block or mutex.")
	flags.StringVar(&p.output, "profile-output", "profile.pprof", "File the profile is written to.")
	_ = flags.MarkHidden("profile")
	_ = flags.MarkHidden("profile-output")
}

// start begins a CPU profile, or turns on the sampling a block/mutex profile needs.
func (p *profiling) start() error {
	switch p.name {
	case "none", "heap", "allocs", "goroutine", "threadcreate":
	case "cpu":
		f, err := os.Create(p.output)
		if err != nil {
			return fmt.Errorf("--profile-output: %w", err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			f.Close()
			return err
		}
		p.cpuFile = f
	case "block":
		runtime.SetBlockProfileRate(1)
	case "mutex":
		runtime.SetMutexProfileFraction(1)
	default:
		return fmt.Errorf("--profile: unknown profile %q (none, cpu, heap, allocs, goroutine, threadcreate, block, mutex)", p.name)
	}
	p.started = true
	return nil
}

// flush writes the profile; it runs after the command whatever its outcome, since a
// run that reports findings ends with a non-zero exit status.
func (p *profiling) flush() error {
	if !p.started {
		return nil
	}
	switch p.name {
	case "none":
		return nil
	case "cpu":
		if p.cpuFile == nil {
			return nil
		}
		pprof.StopCPUProfile()
		return p.cpuFile.Close()
	}
	f, err := os.Create(p.output)
	if err != nil {
		return fmt.Errorf("--profile-output: %w", err)
	}
	defer f.Close()
	if p.name == "heap" {
		runtime.GC() // an up-to-date picture of what is still live
	}
	return pprof.Lookup(p.name).WriteTo(f, 0)
}
