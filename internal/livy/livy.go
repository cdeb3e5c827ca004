// Package livy is Apache Livy's REST vocabulary as sparkgate serves it: request bodies, their
// strict decoding and rule checks, and the JSON views clients index directly. It knows
// nothing of HTTP routing, the store or Spark processes.
package livy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/sparkgate/sparkgate/internal/errkind"
)

// APIVersion is the Livy release whose REST contract sparkgate serves.
const APIVersion = "0.9.0"

// String is a JSON string that, like Livy's Jackson mapper, also accepts a number or a
// boolean and keeps its text (clients send {"spark.executor.instances": 2}).
type String string

func (s *String) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var v string
		if err := json.Unmarshal(b, &v); err != nil {
			return err
		}
		*s = String(v)
		return nil
	}
	isBool := bytes.Equal(b, []byte("true")) || bytes.Equal(b, []byte("false"))
	isNumber := len(b) > 0 && (b[0] == '-' || (b[0] >= '0' && b[0] <= '9'))
	if !isBool && !isNumber {
		return &json.UnmarshalTypeError{Value: jsonValueKind(b), Type: reflect.TypeFor[string]()}
	}
	*s = String(b)
	return nil
}

func jsonValueKind(b []byte) string {
	switch {
	case len(b) == 0:
		return "nothing"
	case b[0] == '{':
		return "object"
	case b[0] == '[':
		return "array"
	case b[0] == 'n':
		return "null"
	}
	return "value"
}

// CreateBatchRequest is the body of POST /batches, field for field as Livy defines it.
type CreateBatchRequest struct {
	File           string            `json:"file"`
	ProxyUser      *string           `json:"proxyUser"`
	ClassName      *string           `json:"className"`
	Args           []String          `json:"args"`
	Jars           []string          `json:"jars"`
	PyFiles        []string          `json:"pyFiles"`
	Files          []string          `json:"files"`
	DriverMemory   *string           `json:"driverMemory"`
	DriverCores    *int              `json:"driverCores"`
	ExecutorMemory *string           `json:"executorMemory"`
	ExecutorCores  *int              `json:"executorCores"`
	NumExecutors   *int              `json:"numExecutors"`
	Archives       []string          `json:"archives"`
	Queue          *string           `json:"queue"`
	Name           *string           `json:"name"`
	Conf           map[string]String `json:"conf"`
}

// Decode reads one JSON value into v, refusing unknown fields, trailing data, an empty body,
// and what checkStrict refuses, with messages that name the offending field.
func Decode(r io.Reader, v any) error {
	body, err := io.ReadAll(r)
	if err != nil {
		return decodeError(err)
	}
	if err := checkStrict(body, v); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return decodeError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errkind.Invalidf("request body has data after its JSON value")
	}
	return nil
}

func decodeError(err error) error {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.Is(err, io.EOF):
		return errkind.Invalidf("request body is empty; expected a JSON object")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return errkind.Invalidf("request body is not valid JSON: it ends too early")
	case errors.As(err, &syntax):
		return errkind.Invalidf("request body is not valid JSON: %v (at byte %d)", syntax, syntax.Offset)
	case errors.As(err, &typ):
		if typ.Field == "" {
			return errkind.Invalidf("request body must be a JSON object, not %s", typ.Value)
		}
		return errkind.Invalidf("field %q must be %s, not %s", jsonFieldPath(typ.Field), describeType(typ.Type), typ.Value)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return errkind.Invalidf("unknown field %s", strings.TrimPrefix(err.Error(), "json: unknown field "))
	case strings.Contains(err.Error(), "http: request body too large"):
		return errkind.Wrap(errkind.TooLarge, err, "request body is too large")
	}
	return errkind.Invalidf("request body is not valid: %v", err)
}

// jsonFieldPath drops the Go names of embedded structs from a decoder's field path
// ("CreateBatchRequest.args" is the client's "args").
func jsonFieldPath(path string) string {
	parts := strings.Split(path, ".")
	kept := parts[:0]
	for _, p := range parts {
		if p != "" && (p[0] < 'A' || p[0] > 'Z') {
			kept = append(kept, p)
		}
	}
	if len(kept) == 0 {
		return path
	}
	return strings.Join(kept, ".")
}

func describeType(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Int, reflect.Int64:
		return "an integer"
	case reflect.Slice:
		return "an array of " + strings.TrimPrefix(describeType(t.Elem()), "a ")
	case reflect.Map:
		return "an object of strings"
	case reflect.Pointer:
		return describeType(t.Elem())
	}
	return t.String()
}

var (
	memoryPattern = regexp.MustCompile(`(?i)^[0-9]+[kmgtp]?b?$`)
	digitsPattern = regexp.MustCompile(`^[0-9]+$`)
)

// ValidateName applies Livy's rule: a session name may not be a number, since /{id} accepts
// an id or a name.
func ValidateName(name *string) error {
	if name == nil {
		return nil
	}
	switch {
	case *name == "":
		return errkind.Invalidf("name must not be empty; omit it or give a name")
	case digitsPattern.MatchString(strings.TrimPrefix(*name, "-")):
		return errkind.Invalidf("Invalid session name: %s (a name may not be a number, which would read as an id)", *name)
	case len(*name) > 256:
		return errkind.Invalidf("name is longer than 256 characters")
	case *name == "." || *name == "..":
		return errkind.Invalidf("name %q cannot be addressed in a path", *name)
	case strings.TrimSpace(*name) != *name:
		return errkind.Invalidf("name must not begin or end with spaces")
	case strings.ContainsAny(*name, "/\x00\n\r"):
		return errkind.Invalidf("name must not contain '/', NUL or line breaks")
	case strings.ContainsFunc(*name, invisible):
		return errkind.Invalidf("name must not contain control, format (zero-width, bidi) or unassigned characters")
	}
	return nil
}

// invisible reports the runes a name may not hold: they hide or reorder what a person reads
// (controls, format characters such as zero-width spaces and bidi overrides, line and
// paragraph separators, private-use and unassigned code points).
func invisible(r rune) bool {
	return !unicode.In(r, unicode.L, unicode.M, unicode.N, unicode.P, unicode.S, unicode.Zs)
}

// memoryMiB is a memory size (memoryPattern) in MiB, rounded up, as Spark reads it; ok is
// false when it is beyond any size Spark takes.
func memoryMiB(size string) (int64, bool) {
	s := strings.TrimSuffix(strings.ToLower(size), "b")
	shift := map[byte]int{'k': -10, 'm': 0, 'g': 10, 't': 20, 'p': 30}
	unit := -20 // bytes
	if n := len(s); n > 0 && (s[n-1] < '0' || s[n-1] > '9') {
		unit, s = shift[s[n-1]], s[:n-1]
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil || n > math.MaxInt32<<20 {
		return 0, false
	}
	if unit >= 0 {
		if n > math.MaxInt32>>unit+1 {
			return 0, false
		}
		return int64(n) << unit, true
	}
	return (int64(n) + 1<<-unit - 1) >> -unit, true
}

// Submission is what a batch request and a session request share: how spark-submit runs the
// application. The requests keep their own fields, in Livy's order (the order is part of their
// canonical form); Submission is a view of them for the checks and the launch they share.
type Submission struct {
	ProxyUser      *string
	Jars           []string
	PyFiles        []string
	Files          []string
	DriverMemory   *string
	DriverCores    *int
	ExecutorMemory *string
	ExecutorCores  *int
	NumExecutors   *int
	Archives       []string
	Queue          *string
	Name           *string
	Conf           map[string]String
}

// Validate checks the shared fields: the name, the memory and core sizes, the queue and proxy
// user, and the conf's shape.
func (s *Submission) Validate() error {
	if err := ValidateName(s.Name); err != nil {
		return err
	}
	for _, m := range []struct {
		field string
		v     *string
	}{{"driverMemory", s.DriverMemory}, {"executorMemory", s.ExecutorMemory}} {
		if m.v == nil {
			continue
		}
		if !memoryPattern.MatchString(*m.v) {
			return errkind.Invalidf("%s %q is not a memory size such as 512m or 2g", m.field, *m.v)
		}
		if mib, ok := memoryMiB(*m.v); !ok || mib < 1 || mib > math.MaxInt32 {
			return errkind.Invalidf("%s %q is outside what Spark takes (1m to %dm)", m.field, *m.v, math.MaxInt32)
		}
	}
	for _, c := range []struct {
		field string
		v     *int
		min   int
	}{{"driverCores", s.DriverCores, 1}, {"executorCores", s.ExecutorCores, 1}, {"numExecutors", s.NumExecutors, 0}} {
		if c.v != nil && (*c.v < c.min || *c.v > 100000) {
			return errkind.Invalidf("%s must be an integer from %d to 100000, not %d", c.field, c.min, *c.v)
		}
	}
	for _, f := range []struct {
		field string
		v     *string
	}{{"queue", s.Queue}, {"proxyUser", s.ProxyUser}} {
		if f.v != nil && (*f.v == "" || strings.ContainsAny(*f.v, "\n\r\x00")) {
			return errkind.Invalidf("%s must be a non-empty single-line string", f.field)
		}
	}
	return ValidateConf(s.Conf)
}

// ValidateConf checks the shape of conf keys and values (policy, such as the blacklist, is
// the launcher's).
func ValidateConf(conf map[string]String) error {
	for k, v := range conf {
		switch {
		case strings.TrimSpace(k) == "":
			return errkind.Invalidf("conf has an empty key")
		case strings.ContainsAny(k, "= \t\n\r\x00"):
			return errkind.Invalidf("conf key %q must not contain '=', spaces or control characters", k)
		case strings.ContainsAny(string(v), "\n\r\x00"):
			return errkind.Invalidf("conf value of %q must not contain line breaks or NUL", k)
		}
	}
	return nil
}

// Submission returns the batch's shared submission fields.
func (r *CreateBatchRequest) Submission() *Submission {
	return &Submission{ProxyUser: r.ProxyUser, Jars: r.Jars, PyFiles: r.PyFiles, Files: r.Files,
		DriverMemory: r.DriverMemory, DriverCores: r.DriverCores, ExecutorMemory: r.ExecutorMemory,
		ExecutorCores: r.ExecutorCores, NumExecutors: r.NumExecutors, Archives: r.Archives, Queue: r.Queue,
		Name: r.Name, Conf: r.Conf}
}

// Validate checks a batch request's own rules: what Livy refuses before looking at policy.
func (r *CreateBatchRequest) Validate() error {
	if strings.TrimSpace(r.File) == "" {
		return errkind.Invalidf("File is required: give \"file\", the application's jar or Python file")
	}
	if r.ClassName != nil && (*r.ClassName == "" || strings.HasPrefix(*r.ClassName, "-") || strings.ContainsAny(*r.ClassName, " \n\x00")) {
		return errkind.Invalidf("className %q is not a class name", *r.ClassName)
	}
	for _, a := range r.Args {
		if strings.ContainsRune(string(a), 0) {
			return errkind.Invalidf("args must not contain NUL")
		}
	}
	return r.Submission().Validate()
}

// Canonical returns a form of the request in which key order, white space and fields given
// as their defaults make no difference: the basis of a request fingerprint.
func (r *CreateBatchRequest) Canonical() []byte {
	c := *r
	if len(c.Args) == 0 {
		c.Args = nil
	}
	c.Conf = dropEmpty(c.Conf, &c.Jars, &c.PyFiles, &c.Files, &c.Archives)
	return canonicalJSON(&c)
}

// dropEmpty turns empty lists into nil (absent) and returns conf, or nil when it is empty:
// an explicit empty value and an absent one are the same request.
func dropEmpty(conf map[string]String, lists ...*[]string) map[string]String {
	for _, l := range lists {
		if len(*l) == 0 {
			*l = nil
		}
	}
	if len(conf) == 0 {
		return nil
	}
	return conf
}

// canonicalJSON encodes a decoded request; encoding/json sorts map keys.
func canonicalJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("canonical form of a decoded request: %v", err))
	}
	return b
}

// CreateInteractiveRequest is the body of POST /sessions, field for field as Livy 0.9 defines it.
type CreateInteractiveRequest struct {
	Kind                     *string           `json:"kind"`
	ProxyUser                *string           `json:"proxyUser"`
	Jars                     []string          `json:"jars"`
	PyFiles                  []string          `json:"pyFiles"`
	Files                    []string          `json:"files"`
	DriverMemory             *string           `json:"driverMemory"`
	DriverCores              *int              `json:"driverCores"`
	ExecutorMemory           *string           `json:"executorMemory"`
	ExecutorCores            *int              `json:"executorCores"`
	NumExecutors             *int              `json:"numExecutors"`
	Archives                 []string          `json:"archives"`
	Queue                    *string           `json:"queue"`
	Name                     *string           `json:"name"`
	Conf                     map[string]String `json:"conf"`
	HeartbeatTimeoutInSecond *int              `json:"heartbeatTimeoutInSecond"`
	TTL                      *string           `json:"ttl"`
	IdleTimeout              *string           `json:"idleTimeout"`
}

// SessionKind returns the session's kind, Livy's aliases folded ("python" is "pyspark",
// "scala" is "spark"), or an error for a kind sparkgate does not run.
func SessionKind(kind *string) (string, error) {
	k := "pyspark"
	if kind != nil {
		k = *kind
	}
	switch k {
	case "pyspark", "python":
		return "pyspark", nil
	case "sql", "shared":
		return k, nil
	case "spark", "scala":
		return "spark", nil
	case "sparkr", "r":
		return "", errkind.Invalidf("session kind %q needs R, which this server does not provide", k)
	}
	return "", errkind.Invalidf("unknown session kind %q: expected pyspark (or python), sql, shared or spark (or scala)", k)
}

// StatementKind returns the kind a statement runs in: its own, or else the session's.
func StatementKind(sessionKind string, kind *string) (string, error) {
	if kind == nil || *kind == "" {
		if sessionKind == "shared" {
			return "pyspark", nil
		}
		return sessionKind, nil
	}
	k, err := SessionKind(kind)
	if err == nil && k == "shared" {
		return "", errkind.Invalidf("a statement's kind is pyspark, spark or sql, not shared")
	}
	return k, err
}

// Submission returns the session's shared submission fields.
func (r *CreateInteractiveRequest) Submission() *Submission {
	return &Submission{ProxyUser: r.ProxyUser, Jars: r.Jars, PyFiles: r.PyFiles, Files: r.Files,
		DriverMemory: r.DriverMemory, DriverCores: r.DriverCores, ExecutorMemory: r.ExecutorMemory,
		ExecutorCores: r.ExecutorCores, NumExecutors: r.NumExecutors, Archives: r.Archives, Queue: r.Queue,
		Name: r.Name, Conf: r.Conf}
}

// Validate checks an interactive request's own rules.
func (r *CreateInteractiveRequest) Validate() error {
	if _, err := SessionKind(r.Kind); err != nil {
		return err
	}
	if r.HeartbeatTimeoutInSecond != nil && *r.HeartbeatTimeoutInSecond < 0 {
		return errkind.Invalidf("heartbeatTimeoutInSecond must not be negative")
	}
	for field, v := range map[string]*string{"ttl": r.TTL, "idleTimeout": r.IdleTimeout} {
		if v != nil {
			if _, err := ParseTimeout(*v); err != nil {
				return errkind.Invalidf("%s: %v", field, err)
			}
		}
	}
	return r.Submission().Validate()
}

// timeUnits are the suffixes of Livy's time strings (Spark's JavaUtils.timeStringAs).
var timeUnits = map[string]time.Duration{
	"us": time.Microsecond, "ms": time.Millisecond, "s": time.Second, "m": time.Minute, "min": time.Minute,
	"h": time.Hour, "d": 24 * time.Hour,
}

var timeString = regexp.MustCompile(`^(\d+)\s*([a-z]*)$`)

// ParseTimeout reads a timeout as Livy does ("10m", "1h", "30s", "500ms"; a bare number is
// milliseconds).
func ParseTimeout(s string) (time.Duration, error) {
	m := timeString.FindStringSubmatch(strings.ToLower(strings.TrimSpace(s)))
	if m == nil {
		return 0, fmt.Errorf("%q is not a time such as 10m, 1h or 30s", s)
	}
	unit := time.Millisecond
	if m[2] != "" {
		u, ok := timeUnits[m[2]]
		if !ok {
			return 0, fmt.Errorf("%q: unknown time unit %q (us, ms, s, m, min, h, d)", s, m[2])
		}
		unit = u
	}
	n, err := strconv.ParseInt(m[1], 10, 64)
	if err != nil || n > int64(math.MaxInt64/unit) {
		return 0, fmt.Errorf("%q is too long a time", s)
	}
	return time.Duration(n) * unit, nil
}

// CreateStatementRequest is the body of POST /sessions/{id}/statements.
type CreateStatementRequest struct {
	Code *string `json:"code"`
	Kind *string `json:"kind"`
}

// CompletionRequest is the body of POST /sessions/{id}/completion: candidates for the code
// at cursor (a character offset).
type CompletionRequest struct {
	Code   *string `json:"code"`
	Kind   *string `json:"kind"`
	Cursor *int    `json:"cursor"`
}

// AddResourceRequest is the body of POST /sessions/{id}/add-jar, add-pyfile and add-file.
type AddResourceRequest struct {
	URI *string `json:"uri"`
}

// Canonical returns the request with its kind folded (absent or "python" is "pyspark") and
// empty lists and maps dropped, encoded with sorted keys: the basis of its fingerprint.
func (r *CreateInteractiveRequest) Canonical() []byte {
	c := *r
	if k, err := SessionKind(r.Kind); err == nil {
		c.Kind = &k
	}
	c.Conf = dropEmpty(c.Conf, &c.Jars, &c.PyFiles, &c.Files, &c.Archives)
	return canonicalJSON(&c)
}
