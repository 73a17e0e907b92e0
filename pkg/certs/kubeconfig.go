package certs

import (
	"encoding/base64"
	"fmt"
	"sort"

	goyaml "go.yaml.in/yaml/v2"
	"sigs.k8s.io/yaml"
)

// KubeconfigProblem is one field of a kubeconfig file that client-go cannot load.
type KubeconfigProblem struct {
	// Entry is the list entry, as kubectl config view shows it: users[admin].
	Entry string
	// Field is the key under it: client-certificate-data.
	Field string
	Err   error
}

// Path is where the problem is, e.g. users[admin].client-certificate-data.
func (p KubeconfigProblem) Path() string {
	if p.Field == "" {
		return p.Entry
	}
	return p.Entry + "." + p.Field
}

func (p KubeconfigProblem) Error() string { return p.Path() + ": " + p.Err.Error() }

// dataFields are the kubeconfig fields client-go decodes as base64 when it loads the
// file: one bad byte in any of them makes the whole file unloadable.
var dataFields = map[string][]string{
	"users":    {"client-certificate-data", "client-key-data"},
	"clusters": {"certificate-authority-data"},
}

var entryKeys = map[string]string{"users": "user", "clusters": "cluster"}

// KubeconfigProblems finds what keeps a kubeconfig file from loading, field by field,
// where client-go only says "illegal base64 data at input byte 0" for the whole file.
// It returns the file without those fields, which then loads, so that everything else
// in it can still be checked. A file that is not a YAML mapping at all is an error;
// an empty one (nothing, or only comments) is an empty kubeconfig, as client-go loads it.
func KubeconfigProblems(data []byte) ([]byte, []KubeconfigProblem, error) {
	var doc any
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, nil, fmt.Errorf("not valid YAML: %w", err)
	}
	if doc == nil {
		return data, nil, nil
	}
	top, ok := doc.(map[string]any)
	if !ok {
		return nil, nil, fmt.Errorf("not a kubeconfig: it holds %s, not a mapping with clusters, users and contexts", yamlKind(doc))
	}
	var problems []KubeconfigProblem
	lists := make([]string, 0, len(dataFields))
	for list := range dataFields {
		lists = append(lists, list)
	}
	sort.Strings(lists)
	for _, list := range lists {
		entries, ok := top[list].([]any)
		if !ok {
			if v, present := top[list]; present && v != nil {
				problems = append(problems, KubeconfigProblem{Entry: list, Field: "", Err: fmt.Errorf("is %s, not a list", yamlKind(v))})
				delete(top, list)
			}
			continue
		}
		for i, e := range entries {
			entry, _ := e.(map[string]any)
			name := fmt.Sprintf("%s[%d]", list, i)
			if n, ok := entry["name"].(string); ok && n != "" {
				name = fmt.Sprintf("%s[%s]", list, n)
			}
			body, _ := entry[entryKeys[list]].(map[string]any)
			for _, field := range dataFields[list] {
				v, present := body[field]
				if !present || v == nil {
					continue
				}
				s, isString := v.(string)
				var err error
				if !isString {
					err = fmt.Errorf("is %s, not base64 text", yamlKind(v))
				} else if _, derr := base64.StdEncoding.DecodeString(s); derr != nil {
					err = fmt.Errorf("is not valid base64 (%v)", derr)
				}
				if err != nil {
					problems = append(problems, KubeconfigProblem{Entry: name, Field: field, Err: err})
					delete(body, field)
				}
			}
		}
	}
	if len(problems) == 0 {
		return data, nil, nil
	}
	// Written back as YAML, not JSON: YAML (which client-go reads JSON as) does not take
	// every JSON text. A key of over 1024 characters, or a DEL or U+0080 the file wrote
	// as an escape, made the JSON unloadable, and a U+0085 in it was read as a space
	// (found by FuzzKubeconfig).
	clean, err := goyaml.Marshal(top)
	if err != nil {
		return nil, nil, err
	}
	return clean, problems, nil
}

func yamlKind(v any) string {
	switch v.(type) {
	case []any:
		return "a list"
	case map[string]any:
		return "a mapping"
	case string:
		return "a string"
	case float64, int64:
		return "a number"
	case bool:
		return "a boolean"
	case nil:
		return "nothing"
	}
	return "a value"
}
