package report

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"reflect"
	"runtime"
	"sort"
	"strings"
	"sync"

	"sigs.k8s.io/yaml"
)

// A report of a large cluster holds tens of thousands of certificate records. Encoding
// it in one piece builds the whole document in memory, twice for JSON (compact, then
// indented) and four times for YAML (JSON, a generic map, YAML). These encoders write
// the top-level object member by member and each list element by element, producing
// byte for byte what encoding/json's indenting Encoder and sigs.k8s.io/yaml produce.

// member is one top-level JSON member of a struct.
type member struct {
	name  string
	value reflect.Value
}

// membersOf lists the JSON members of the struct v points to, in declaration order,
// with encoding/json's omitempty rule applied (it has no embedded fields).
func membersOf(v any) []member {
	rv := reflect.Indirect(reflect.ValueOf(v))
	rt := rv.Type()
	var out []member
	for i := 0; i < rt.NumField(); i++ {
		f := rt.Field(i)
		tag := f.Tag.Get("json")
		if !f.IsExported() || tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if name == "" {
			name = f.Name
		}
		fv := rv.Field(i)
		if strings.Contains(","+opts+",", ",omitempty,") && isEmpty(fv) {
			continue
		}
		out = append(out, member{name, fv})
	}
	return out
}

// isEmpty is encoding/json's notion of an empty value for omitempty.
func isEmpty(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Array, reflect.Map, reflect.Slice, reflect.String:
		return v.Len() == 0
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.Interface, reflect.Pointer:
		return v.IsZero()
	}
	return false
}

// streamed tells whether a member is written element by element.
func streamed(v reflect.Value) bool { return v.Kind() == reflect.Slice && v.Len() > 0 }

// writeJSON writes v as json.Encoder with SetIndent("", "  ") would.
func writeJSON(w io.Writer, v any) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	members := membersOf(v)
	bw.WriteString("{\n")
	for i, m := range members {
		key, _ := json.Marshal(m.name)
		bw.WriteString("  ")
		bw.Write(key)
		bw.WriteString(": ")
		if streamed(m.value) {
			bw.WriteString("[\n")
			if err := writeJSONElements(bw, m.value); err != nil {
				return err
			}
			bw.WriteString("  ]")
		} else {
			b, err := newIndenter().appendIndented(nil, m.value.Interface(), "  ")
			if err != nil {
				return err
			}
			bw.Write(b)
		}
		if i < len(members)-1 {
			bw.WriteString(",")
		}
		bw.WriteString("\n")
	}
	bw.WriteString("}\n")
	return bw.Flush()
}

// indenter encodes values as JSON indented under a prefix, marshalling each into one
// reused buffer.
type indenter struct {
	compact bytes.Buffer
	enc     *json.Encoder
}

func newIndenter() *indenter {
	in := &indenter{}
	in.enc = json.NewEncoder(&in.compact)
	return in
}

// appendIndented appends x to dst as JSON indented under prefix.
func (in *indenter) appendIndented(dst []byte, x any, prefix string) ([]byte, error) {
	in.compact.Reset()
	if err := in.enc.Encode(x); err != nil { // json.Marshal's bytes plus a newline
		return dst, err
	}
	return indentCompact(dst, bytes.TrimSuffix(in.compact.Bytes(), []byte("\n")), prefix), nil
}

// indentCompact appends src, JSON as json.Marshal writes it (valid, no whitespace), to dst
// indented as json.Indent(dst, src, prefix, "  ") would. json.Indent re-validates its input
// byte by byte through a scanner, which costs more than the marshalling itself; input
// from json.Marshal needs no validation, only its strings skipped. FuzzIndentCompact
// holds it to json.Indent.
func indentCompact(dst, src []byte, prefix string) []byte {
	depth := 0
	newline := func() {
		dst = append(dst, '\n')
		dst = append(dst, prefix...)
		for i := 0; i < depth; i++ {
			dst = append(dst, "  "...)
		}
	}
	for i := 0; i < len(src); i++ {
		switch c := src[i]; c {
		case '"':
			j := i + 1
			for ; j < len(src) && src[j] != '"'; j++ {
				if src[j] == '\\' {
					j++
				}
			}
			dst = append(dst, src[i:min(j+1, len(src))]...)
			i = j
		case '{', '[':
			dst = append(dst, c)
			if i+1 < len(src) && (src[i+1] == '}' || src[i+1] == ']') {
				dst = append(dst, src[i+1])
				i++
				continue
			}
			depth++
			newline()
		case '}', ']':
			depth--
			newline()
			dst = append(dst, c)
		case ',':
			dst = append(dst, c)
			newline()
		case ':':
			dst = append(dst, ':', ' ')
		default:
			dst = append(dst, c)
		}
	}
	return dst
}

// jsonBatch is how many list elements one goroutine encodes at a time.
const jsonBatch = 512

// batchBuffers recycles the buffers batches are encoded into: a report of 30,000
// secrets would otherwise allocate its whole encoding a second time in growing buffers.
var batchBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// writeJSONElements writes the elements of list, one per line group, each followed by
// a comma but the last. Encoding is most of the time spent printing a large report, so
// batches are encoded on every CPU and written in order; at most two batches per CPU
// wait to be written.
func writeJSONElements(w io.Writer, list reflect.Value) error {
	n := list.Len()
	batches := (n + jsonBatch - 1) / jsonBatch
	type encoded struct {
		buf *bytes.Buffer
		err error
	}
	results := make([]chan encoded, batches)
	for i := range results {
		results[i] = make(chan encoded, 1)
	}
	slots := make(chan struct{}, 2*runtime.GOMAXPROCS(0))
	go func() {
		for i := 0; i < batches; i++ {
			slots <- struct{}{}
			go func(i int) {
				out, in := batchBuffers.Get().(*bytes.Buffer), newIndenter()
				var err error
				for j := i * jsonBatch; j < min(n, (i+1)*jsonBatch); j++ {
					b := append(out.AvailableBuffer(), "    "...)
					if b, err = in.appendIndented(b, list.Index(j).Interface(), "    "); err != nil {
						break
					}
					if j < n-1 {
						b = append(b, ',')
					}
					out.Write(append(b, '\n'))
				}
				results[i] <- encoded{out, err}
			}(i)
		}
	}()
	var firstErr error
	for _, ch := range results { // drain every batch, so no encoder is left blocked
		r := <-ch
		<-slots
		if firstErr == nil {
			firstErr = r.err
			if firstErr == nil {
				_, firstErr = w.Write(r.buf.Bytes())
			}
		}
		r.buf.Reset()
		batchBuffers.Put(r.buf)
	}
	return firstErr
}

// writeYAML writes v as sigs.k8s.io/yaml.Marshal would: members sorted by name (it
// goes through a map), lists item by item; and where Marshal fails on a DEL or C1
// control character, those characters escaped (marshalYAML).
func writeYAML(w io.Writer, v any) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	members := membersOf(v)
	sort.Slice(members, func(i, j int) bool { return members[i].name < members[j].name })
	for _, m := range members {
		if !streamed(m.value) {
			b, err := marshalYAML(map[string]any{m.name: m.value.Interface()})
			if err != nil {
				return err
			}
			bw.Write(b)
			continue
		}
		// A one-element list marshals to exactly its item's lines: a list under a top-level
		// key is not indented, and block scalars and folded lines keep their indentation.
		bw.WriteString(m.name + ":\n")
		for j := 0; j < m.value.Len(); j++ {
			b, err := marshalYAML(m.value.Slice(j, j+1).Interface())
			if err != nil {
				return err
			}
			bw.Write(b)
		}
	}
	return bw.Flush()
}

// marshalYAML is yaml.Marshal, which converts JSON, with the DEL and C1 control
// characters encoding/json leaves raw escaped in that JSON. go-yaml's reader refuses
// them ("control characters are not allowed"): one certificate whose name holds one
// would fail the whole -o yaml. Escaped, the JSON holds the same strings, and the YAML
// emitter writes them quoted ("\x7F", "\x9B"), as it writes ESC ("\e").
func marshalYAML(v any) ([]byte, error) {
	j, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("error marshaling into JSON: %w", err)
	}
	return yaml.JSONToYAML(escapeJSONControls(j))
}

// escapeJSONControls writes DEL and the C1 controls (U+0080–U+009F, 0xC2 0x80–0x9F in
// UTF-8) of JSON text as \u escapes. Outside strings JSON is ASCII, and neither byte
// sequence can be part of another character or escape, so the text means the same.
func escapeJSONControls(j []byte) []byte {
	if bytes.IndexByte(j, 0x7f) < 0 && bytes.IndexByte(j, 0xc2) < 0 {
		return j
	}
	out := make([]byte, 0, len(j)+16)
	for i := 0; i < len(j); i++ {
		switch c := j[i]; {
		case c == 0x7f:
			out = append(out, `\u007f`...)
		case c == 0xc2 && i+1 < len(j) && j[i+1] >= 0x80 && j[i+1] <= 0x9f:
			out = fmt.Appendf(out, `\u%04x`, j[i+1])
			i++
		default:
			out = append(out, c)
		}
	}
	return out
}
