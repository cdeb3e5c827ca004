package livy

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"unicode/utf8"

	"github.com/sparkgate/sparkgate/internal/errkind"
)

// What encoding/json lets through and a strict reading refuses: a body that is not UTF-8
// (json replaces the bad bytes), a key given twice (json keeps the last), and a field named in
// another case than Livy's ("FILE" for "file": json matches case-insensitively). Each would
// make the stored request differ from what the client meant, or two requests that read alike
// differ.

// checkStrict applies those rules to body, meant for v (a pointer to a struct).
func checkStrict(body []byte, v any) error {
	if !utf8.Valid(body) {
		return errkind.Invalidf("request body is not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := walk(dec, fieldsOf(reflect.TypeOf(v)), ""); !errors.Is(err, errSyntax) {
		return err
	}
	return nil // Decode says what is wrong, with its position
}

// errSyntax stops the walk at a syntax error: the decoder stands still there, and a loop over
// More would spin on it forever.
var errSyntax = errors.New("syntax error")

// fieldsOf are the JSON names of a struct type's fields (nil for other types: any key).
func fieldsOf(t reflect.Type) map[string]reflect.Type {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil || t.Kind() != reflect.Struct {
		return nil
	}
	fields := map[string]reflect.Type{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch {
		case name == "-" || !f.IsExported():
		case f.Anonymous && name == "":
			for k, ft := range fieldsOf(f.Type) {
				fields[k] = ft
			}
		case name == "":
			fields[f.Name] = f.Type
		default:
			fields[name] = f.Type
		}
	}
	return fields
}

// walk reads one JSON value from dec; fields, when not nil, are the names its object may have.
func walk(dec *json.Decoder, fields map[string]reflect.Type, path string) error {
	tok, err := dec.Token()
	if err != nil {
		return errSyntax // an empty body too: Decode says so
	}
	switch tok {
	case json.Delim('{'):
		seen := map[string]bool{}
		for dec.More() {
			keyTok, err := dec.Token()
			if err != nil {
				return errSyntax
			}
			key, _ := keyTok.(string)
			where := joinPath(path, key)
			if seen[key] {
				return errkind.Invalidf("field %q is given twice", where)
			}
			seen[key] = true
			var inner map[string]reflect.Type
			if fields != nil {
				t, ok := fields[key]
				if !ok {
					for name := range fields {
						if strings.EqualFold(name, key) {
							return errkind.Invalidf("unknown field %q (did you mean %q? names are case-sensitive)", where, joinPath(path, name))
						}
					}
				}
				inner = fieldsOf(t)
			}
			if err := walk(dec, inner, where); err != nil {
				return err
			}
		}
		_, _ = dec.Token() // '}'
	case json.Delim('['):
		for dec.More() {
			if err := walk(dec, nil, path+"[]"); err != nil {
				return err
			}
		}
		_, _ = dec.Token() // ']'
	}
	return nil
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}
