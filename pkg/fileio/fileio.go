// Package fileio reads the files a user points certdoctor at (kubeconfigs, certificates,
// profiles, a node's PKI) without trusting them to be ordinary: only regular files are
// read, never more than a cap, and opening a FIFO or a device never blocks. /dev/zero
// as --kubeconfig or a FIFO as apiserver.crt gets a one-line error, not a hang.
package fileio

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
)

// MaxSize is the cap for every file certdoctor reads: the largest legitimate input, a
// kubeconfig of a few hundred contexts or a CA bundle, is a few MiB.
const MaxSize = 16 << 20

// ErrNotRegular and ErrTooLarge are what ReadFile's errors wrap, for callers that word
// the finding themselves.
var (
	ErrNotRegular = errors.New("not a regular file")
	ErrTooLarge   = fmt.Errorf("larger than %d MiB", MaxSize>>20)
)

// ReadFile reads path if it is a regular file (symbolic links followed) of at most
// MaxSize bytes.
func ReadFile(path string) ([]byte, error) { return ReadFileMax(path, MaxSize) }

// ReadFileMax is ReadFile with another cap.
func ReadFileMax(path string, max int64) ([]byte, error) {
	f, err := openNonBlocking(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, &fs.PathError{Op: "read", Path: path, Err: fmt.Errorf("%w (%s)", ErrNotRegular, kind(st.Mode()))}
	}
	if st.Size() > max {
		return nil, tooLarge(path, max)
	}
	// The size can change between Stat and Read: the limit holds whatever the file does.
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > max {
		return nil, tooLarge(path, max)
	}
	return data, nil
}

// CheckRegular reports whether path could be read by ReadFile, without reading it: for
// paths another library reads (client-go reads a kubeconfig's certificate files itself).
func CheckRegular(path string) error {
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	if !st.Mode().IsRegular() {
		return &fs.PathError{Op: "read", Path: path, Err: fmt.Errorf("%w (%s)", ErrNotRegular, kind(st.Mode()))}
	}
	if st.Size() > MaxSize {
		return tooLarge(path, MaxSize)
	}
	return nil
}

func tooLarge(path string, max int64) error {
	err := ErrTooLarge
	if max != MaxSize {
		err = fmt.Errorf("larger than %d bytes", max)
	}
	return &fs.PathError{Op: "read", Path: path, Err: err}
}

func kind(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a FIFO"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a block device"
	}
	return "not a plain file"
}
