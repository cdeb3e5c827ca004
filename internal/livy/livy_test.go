package livy

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sparkgate/sparkgate/internal/errkind"
)

func TestDecodeBatchRequest(t *testing.T) {
	cases := []struct {
		name, body string
		wantErr    string // "" for success
		check      func(*CreateBatchRequest) bool
	}{
		{"every field", `{"file":"/a.py","proxyUser":"bob","className":"C","args":["1",2,true],"jars":["/j"],"pyFiles":["/p"],
			"files":["/f"],"driverMemory":"1g","driverCores":1,"executorMemory":"2g","executorCores":2,"numExecutors":3,
			"archives":["/z"],"queue":"q","name":"n","conf":{"spark.x":"1","spark.y":2}}`, "",
			func(r *CreateBatchRequest) bool {
				return r.File == "/a.py" && *r.ProxyUser == "bob" && len(r.Args) == 3 && r.Args[1] == "2" && r.Args[2] == "true" &&
					*r.NumExecutors == 3 && r.Conf["spark.y"] == "2"
			}},
		{"nulls are absent", `{"file":"/a.py","name":null,"args":null,"conf":null}`, "",
			func(r *CreateBatchRequest) bool { return r.Name == nil && r.Args == nil && r.Conf == nil }},
		{"unknown field", `{"file":"/a.py","extra":1}`, `unknown field "extra"`, nil},
		{"int as string", `{"file":"/a.py","numExecutors":"3"}`, `"numExecutors" must be an integer`, nil},
		{"fraction", `{"file":"/a.py","driverCores":1.5}`, `"driverCores" must be an integer`, nil},
		{"object in args", `{"file":"/a.py","args":[{}]}`, `"args" must be a string, not object`, nil},
		{"string for list", `{"file":"/a.py","jars":"/j"}`, `"jars" must be an array of string`, nil},
		{"syntax", `{"file":}`, "not valid JSON", nil},
		{"truncated", `{"file":"/a.py"`, "ends too early", nil},
		{"empty", ``, "empty", nil},
		{"array", `[]`, "must be a JSON object", nil},
		{"two values", `{} {}`, "after its JSON value", nil},
		// what encoding/json lets through
		{"a field in another case", `{"FILE":"/a.py"}`, `unknown field "FILE" (did you mean "file"?`, nil},
		{"a field given twice", `{"file":"/a.py","file":"/b.py"}`, `field "file" is given twice`, nil},
		{"a conf key given twice", `{"file":"/a.py","conf":{"spark.x":"1","spark.x":"2"}}`, `field "conf.spark.x" is given twice`, nil},
		{"conf keys of another case are other keys", `{"file":"/a.py","conf":{"spark.x":"1","SPARK.X":"2"}}`, "",
			func(r *CreateBatchRequest) bool { return len(r.Conf) == 2 }},
		{"invalid UTF-8", "{\"file\":\"/a\xff.py\"}", "not valid UTF-8", nil},
		{"an embedded field in another case", `{"file":"/a.py","PUTKEY":"k"}`, "unknown field", nil},
	}
	type embedding struct {
		CreateBatchRequest
		PutKey *string `json:"putKey"`
	}
	var e embedding
	if err := Decode(strings.NewReader(`{"file":"/a","driverCores":"x"}`), &e); err == nil || !strings.Contains(err.Error(), `field "driverCores" must be an integer`) {
		t.Errorf("embedded field error = %v, want the JSON name alone", err)
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var r CreateBatchRequest
			err := Decode(strings.NewReader(c.body), &r)
			if c.wantErr == "" {
				if err != nil {
					t.Fatalf("Decode: %v", err)
				}
				if !c.check(&r) {
					t.Errorf("decoded %+v", r)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.wantErr) || errkind.Of(err) != errkind.Invalid {
				t.Fatalf("Decode error = %v, want a client error containing %q", err, c.wantErr)
			}
		})
	}
}

func TestMemorySizesReadAsSparkReadsThem(t *testing.T) {
	for size, want := range map[string]int64{"512m": 512, "2g": 2048, "2G": 2048, "1t": 1 << 20, "1024k": 1, "1025k": 2,
		"1b": 1, "1048576": 1, "1p": 1 << 30, "2gb": 2048} {
		if got, ok := memoryMiB(size); !ok || got != want {
			t.Errorf("memoryMiB(%q) = %d, %v; want %d", size, got, ok, want)
		}
	}
	if _, ok := memoryMiB("99999999999999999999g"); ok {
		t.Error("a size beyond 64 bits reads")
	}
}

func TestValidate(t *testing.T) {
	cases := []struct {
		body, wantErr string
	}{
		{`{"file":"/a.py"}`, ""},
		{`{"file":" "}`, "File is required"},
		{`{"file":"/a.py","name":"42"}`, "Invalid session name"},
		{`{"file":"/a.py","name":""}`, "must not be empty"},
		{`{"file":"/a.py","name":"a/b"}`, "must not contain"},
		{`{"file":"/a.py","driverMemory":"1 g"}`, "memory size"},
		{`{"file":"/a.py","executorMemory":"512M"}`, ""},
		{`{"file":"/a.py","numExecutors":-1}`, "numExecutors"},
		{`{"file":"/a.py","className":"--conf"}`, "not a class name"},
		{`{"file":"/a.py","conf":{"a=b":"c"}}`, "must not contain '='"},
		{`{"file":"/a.py","conf":{"a":"line\nbreak"}}`, "line breaks"},
		{`{"file":"/a.py","queue":""}`, "queue"},
		{`{"file":"/a.py","name":"-5"}`, "Invalid session name"},
		{`{"file":"/a.py","name":".."}`, "cannot be addressed"},
		{`{"file":"/a.py","name":"."}`, "cannot be addressed"},
		{`{"file":"/a.py","name":" etl"}`, "spaces"},
		{`{"file":"/a.py","name":"etl\u200bjob"}`, "format"},
		{`{"file":"/a.py","name":"etl\u202ejob"}`, "format"},
		{`{"file":"/a.py","name":"etl\u0007"}`, "control"},
		{`{"file":"/a.py","name":"nightly etl – é 数据 🚀"}`, ""},
		{`{"file":"/a.py","driverMemory":"99999999999999999999g"}`, "outside what Spark takes"},
		{`{"file":"/a.py","driverMemory":"3000000t"}`, "outside what Spark takes"},
		{`{"file":"/a.py","driverMemory":"0g"}`, "outside what Spark takes"},
		{`{"file":"/a.py","driverMemory":"2097151g"}`, ""},
		{`{"file":"/a.py","driverMemory":"2097152g"}`, "outside what Spark takes"},
		{`{"file":"/a.py","executorMemory":"1048576b"}`, ""},
	}
	for _, c := range cases {
		var r CreateBatchRequest
		if err := Decode(strings.NewReader(c.body), &r); err != nil {
			t.Fatalf("%s: %v", c.body, err)
		}
		err := r.Validate()
		if (c.wantErr == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), c.wantErr)) {
			t.Errorf("Validate(%s) = %v, want %q", c.body, err, c.wantErr)
		}
	}
}

// A session request shares the batch's checks of the submission fields, and has its own.
func TestValidateInteractive(t *testing.T) {
	for _, c := range []struct {
		body, wantErr string
	}{
		{`{"kind":"pyspark","driverMemory":"2g","heartbeatTimeoutInSecond":60,"idleTimeout":"10m"}`, ""},
		{`{"kind":"cobol"}`, "unknown session kind"},
		{`{"name":"7"}`, "Invalid session name"},
		{`{"executorCores":0}`, "executorCores"},
		{`{"queue":"a\nb"}`, "queue"},
		{`{"proxyUser":""}`, "proxyUser"},
		{`{"conf":{"a b":"c"}}`, "must not contain '='"},
		{`{"heartbeatTimeoutInSecond":-1}`, "heartbeatTimeoutInSecond"},
		{`{"ttl":"soon"}`, "ttl"},
	} {
		var r CreateInteractiveRequest
		if err := Decode(strings.NewReader(c.body), &r); err != nil {
			t.Fatalf("%s: %v", c.body, err)
		}
		err := r.Validate()
		if (c.wantErr == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), c.wantErr)) {
			t.Errorf("Validate(%s) = %v, want %q", c.body, err, c.wantErr)
		}
	}
}

// Key order, white space and explicit empty values do not change the canonical form; any
// real difference does.
func TestCanonical(t *testing.T) {
	canon := func(body string) string {
		var r CreateBatchRequest
		if err := Decode(strings.NewReader(body), &r); err != nil {
			t.Fatal(err)
		}
		return string(r.Canonical())
	}
	base := canon(`{"file":"/a.py","args":["1"],"conf":{"a":"1","b":"2"}}`)
	for _, same := range []string{
		`{"conf":{"b":"2","a":"1"},  "args":["1"], "file":"/a.py"}`,
		`{"file":"/a.py","args":["1"],"conf":{"a":1,"b":2},"jars":[],"name":null}`,
	} {
		if got := canon(same); got != base {
			t.Errorf("canonical(%s) = %s, want %s", same, got, base)
		}
	}
	for _, different := range []string{
		`{"file":"/a.py","args":["2"],"conf":{"a":"1","b":"2"}}`,
		`{"file":"/a.py","args":["1"],"conf":{"a":"1"}}`,
		`{"file":"/b.py","args":["1"],"conf":{"a":"1","b":"2"}}`,
	} {
		if canon(different) == base {
			t.Errorf("canonical(%s) equals a different request's", different)
		}
	}
}

func TestParseTimeoutReadsLivysTimeStrings(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
		bad  bool
	}{
		{in: "10m", want: 10 * time.Minute},
		{in: "1h", want: time.Hour},
		{in: "30s", want: 30 * time.Second},
		{in: "2min", want: 2 * time.Minute},
		{in: "500ms", want: 500 * time.Millisecond},
		{in: "1d", want: 24 * time.Hour},
		{in: "1500", want: 1500 * time.Millisecond},
		{in: " 5 S ", want: 5 * time.Second},
		{in: "", bad: true},
		{in: "ten minutes", bad: true},
		{in: "-5m", bad: true},
		{in: "5y", bad: true},
		{in: "1.5h", bad: true},
		{in: "99999999999999999d", bad: true},
	} {
		got, err := ParseTimeout(tc.in)
		if (err != nil) != tc.bad || got != tc.want {
			t.Errorf("ParseTimeout(%q) = %v, %v; want %v (error: %v)", tc.in, got, err, tc.want, tc.bad)
		}
	}
}

func TestRedactHidesWhatSparkWouldHide(t *testing.T) {
	conf := map[string]String{"spark.hadoop.fs.s3a.secret.key": "abc", "spark.x": "password=hunter2", "spark.y": "ok",
		"spark.hadoop.fs.s3a.access.key": "AKIA", "spark.api.TOKEN": "t"}
	got := Redact(conf, regexp.MustCompile(DefaultRedactionRegex))
	for k, want := range map[string]String{"spark.hadoop.fs.s3a.secret.key": Redacted, "spark.x": Redacted, "spark.y": "ok",
		"spark.hadoop.fs.s3a.access.key": Redacted, "spark.api.TOKEN": Redacted} {
		if got[k] != want {
			t.Errorf("%s = %q, want %q", k, got[k], want)
		}
	}
	if conf["spark.x"] != "password=hunter2" {
		t.Error("Redact changed the conf it was given")
	}
	if got := Redact(nil, regexp.MustCompile(DefaultRedactionRegex)); got == nil || len(got) != 0 {
		t.Errorf("Redact(nil) = %v, want an empty conf", got)
	}
}
