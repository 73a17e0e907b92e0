// Package fuzzseed keeps a fuzz target's committed seed corpus the same as the seeds its
// code adds with f.Add. With UPDATE_FUZZ_SEEDS=1,
//
//	UPDATE_FUZZ_SEEDS=1 go test -run '^FuzzName$' ./pkg/x
//
// rewrites testdata/fuzz/FuzzName/seed-NN from them, one file a seed, in Go's corpus
// format ("go test fuzz v1" and the Go literal of the value). Inputs the fuzzer found
// (files named by their hash) are left as they are. Seeds made at run time, such as
// freshly issued certificates, come out different each time, and are no less valid.
package fuzzseed

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// Write writes seeds as f's seed corpus when UPDATE_FUZZ_SEEDS=1, and does nothing
// otherwise. The caller adds the same seeds with f.Add.
func Write[T string | []byte](f *testing.F, seeds []T) {
	f.Helper()
	if os.Getenv("UPDATE_FUZZ_SEEDS") != "1" {
		return
	}
	dir := filepath.Join("testdata", "fuzz", f.Name())
	old, err := filepath.Glob(filepath.Join(dir, "seed-*"))
	if err != nil {
		f.Fatal(err)
	}
	for _, p := range old {
		if err := os.Remove(p); err != nil {
			f.Fatal(err)
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		f.Fatal(err)
	}
	for i, s := range seeds {
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("seed-%02d", i+1)), Encode(s), 0o644); err != nil {
			f.Fatal(err)
		}
	}
}

// Encode is v as a corpus file, as go test writes one.
func Encode[T string | []byte](v T) []byte {
	switch v := any(v).(type) {
	case string:
		return fmt.Appendf(nil, "go test fuzz v1\nstring(%q)\n", v)
	case []byte:
		return fmt.Appendf(nil, "go test fuzz v1\n[]byte(%q)\n", v)
	}
	panic("unreachable")
}
