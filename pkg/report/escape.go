package report

import (
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// Text output is made safe for a terminal here, at one boundary. What a report prints
// is largely other people's data: a certificate's CN, organisation and SANs (anyone who
// can create a TLS secret chooses them), object and file names, a kubeconfig's context
// and user names, error texts. A terminal obeys the control sequences they may hold
// ("\x1b[2J" clears the screen, "\u202e" reverses what follows). Every text printer
// writes through a *textWriter and nothing else:
//
//   - printf escapes each argument with Escape (line breaks and tabs in a value too);
//     the format is the printer's own layout;
//   - table escapes every header and cell before the columns are laid out;
//   - lines(s, indent) is a multi-line field (a fix, a meaning): each line is escaped
//     and the next ones are indented, so a value can never start a line of its own;
//   - Write, which all of them end in, escapes whatever control character the layout
//     did not put there (anything but '\n' and '\t'), a last net.
//
// JSON and YAML are not escaped: they hold the data as it is, in their own quoting.

// Escape returns s with each character a terminal could act on, or that hides what a
// name holds, written as a Go escape: C0 controls ('\n' and '\t' included, as `\n`,
// `\t`, `\x1b`), DEL (`\x7f`), C1 controls (`\u009b`), bytes that are not UTF-8
// (`\xff`), the Unicode bidirectional controls (U+202A–U+202E, U+2066–U+2069, the
// marks U+200E, U+200F, U+061C: `\u202e`) and the line and paragraph separators
// U+2028, U+2029. Everything else, backslashes included, is left as it is, so a clean
// name prints unchanged.
func Escape(s string) string { return escape(s, false) }

// escape is Escape, keeping '\n' and '\t' when layout says s is the printer's own text.
func escape(s string, layout bool) string {
	i := firstUnsafe(s, layout)
	if i < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 16)
	b.WriteString(s[:i])
	for i < len(s) {
		c := s[i]
		if c < utf8.RuneSelf {
			if unsafeASCII(c, layout) {
				writeEscape(&b, rune(c))
			} else {
				b.WriteByte(c)
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			fmt.Fprintf(&b, `\x%02x`, c)
		case unsafeRune(r):
			writeEscape(&b, r)
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

// firstUnsafe is the index of the first character escape rewrites, -1 when none.
func firstUnsafe(s string, layout bool) int {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if unsafeASCII(c, layout) {
				return i
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 || unsafeRune(r) {
			return i
		}
		i += n
	}
	return -1
}

func unsafeASCII(c byte, layout bool) bool {
	if layout && (c == '\n' || c == '\t') {
		return false
	}
	return c < 0x20 || c == 0x7f
}

func unsafeRune(r rune) bool {
	switch {
	case r >= 0x80 && r <= 0x9f: // C1 controls: U+009B is CSI, as ESC [ is
		return true
	case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069: // bidi embeddings, overrides, isolates
		return true
	case r == 0x200e, r == 0x200f, r == 0x061c: // bidi marks
		return true
	case r == 0x2028, r == 0x2029: // line and paragraph separators
		return true
	}
	return false
}

// writeEscape writes r as Go writes it in a quoted string.
func writeEscape(b *strings.Builder, r rune) {
	switch r {
	case '\a':
		b.WriteString(`\a`)
	case '\b':
		b.WriteString(`\b`)
	case '\f':
		b.WriteString(`\f`)
	case '\n':
		b.WriteString(`\n`)
	case '\r':
		b.WriteString(`\r`)
	case '\t':
		b.WriteString(`\t`)
	case '\v':
		b.WriteString(`\v`)
	default:
		if r < utf8.RuneSelf {
			fmt.Fprintf(b, `\x%02x`, r)
		} else {
			fmt.Fprintf(b, `\u%04x`, r)
		}
	}
}

// textWriter is what the text printers write to: see the top of this file.
type textWriter struct {
	w io.Writer
	// clusters: the report spans several contexts (clusters.go).
	clusters bool
}

func newTextWriter(w io.Writer) *textWriter {
	if t, ok := w.(*textWriter); ok {
		return t
	}
	return &textWriter{w: w}
}

// Write writes p, escaping every control character but '\n' and '\t'.
func (t *textWriter) Write(p []byte) (int, error) {
	s := string(p)
	if e := escape(s, true); e != s {
		_, err := io.WriteString(t.w, e)
		if err != nil {
			return 0, err
		}
		return len(p), nil
	}
	return t.w.Write(p)
}

// printf formats a line of the printer's layout with its arguments escaped: strings,
// errors and Stringers (for %s verbs), and lines.
func (t *textWriter) printf(format string, args ...any) {
	for i, a := range args {
		switch v := a.(type) {
		case block:
			args[i] = v.render()
		case string:
			args[i] = Escape(v)
		case error:
			args[i] = Escape(v.Error())
		case fmt.Stringer:
			args[i] = Escape(v.String())
		}
	}
	fmt.Fprintf(t, format, args...)
}

// block is a field that may span lines.
type block struct{ text, indent string }

// lines is s as a multi-line field of printf: each line escaped, the lines after the
// first indented by indent.
func lines(s, indent string) block { return block{s, indent} }

func (b block) render() string {
	ls := strings.Split(b.text, "\n")
	for i, l := range ls {
		ls[i] = Escape(l)
	}
	return strings.Join(ls, "\n"+b.indent)
}

// table writes rows under header with every cell escaped (in place: the printers build
// the rows for this call).
func (t *textWriter) table(header []string, rows [][]string) error {
	for i := range header {
		header[i] = Escape(header[i])
	}
	for _, row := range rows {
		for i := range row {
			row[i] = Escape(row[i])
		}
	}
	return writeTable(t, header, rows)
}
