package interactive

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/sparkgate/sparkgate/internal/errkind"
)

// Every body a driver may send: never a panic, every refusal a 400, and what is accepted is
// what the gateway stores — an output that is a JSON object, or a progress between 0 and 1.
func FuzzDriverBodies(f *testing.F) {
	for _, seed := range []string{
		`{"appId":"local-1","sparkUiUrl":"http://h:4040"}`, `{"output":{"status":"ok","data":{"text/plain":"2"}}}`,
		`{"progress":0.5}`, `{"output":null,"progress":1}`, `{"output":5}`, `{"output":"x"}`, `{"progress":-1}`,
		`{"progress":1e309}`, `{"result":{"candidates":["a"]},"error":""}`, `{"output":{}} {}`, "\xff", `[]`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		isClientError := func(what string, err error) {
			if err != nil && errkind.Of(err) != errkind.Invalid {
				t.Fatalf("%s of %q: %v, not a 400", what, body, err)
			}
		}
		_, err := DecodeReady(bytes.NewReader(body))
		isClientError("DecodeReady", err)
		_, err = DecodeAnswer(bytes.NewReader(body))
		isClientError("DecodeAnswer", err)
		res, err := DecodeResult(bytes.NewReader(body))
		isClientError("DecodeResult", err)
		if err != nil {
			return
		}
		if res.Output != nil {
			var out map[string]any
			if json.Unmarshal(res.Output, &out) != nil || out == nil {
				t.Fatalf("DecodeResult(%q) accepted output %s, not a JSON object", body, res.Output)
			}
		} else if res.Progress == nil || *res.Progress < 0 || *res.Progress > 1 {
			t.Fatalf("DecodeResult(%q) accepted neither an output nor a progress in [0, 1]: %+v", body, res)
		}
	})
}

// Every name a client gives an upload: the name stored is one path element, addressable
// and as Spark reads it, or a 400.
func FuzzUploadName(f *testing.F) {
	for _, seed := range []string{"notes.txt", "../../etc/passwd", "a/b/c.py", "..", ".", "", "/", "x\x00y", "a\nb",
		"\u202eexe.txt", "\xff.jar", "a%20b", "a#b", strings.Repeat("n", 300), "C:\\x\\y.py"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, filename string) {
		name, err := uploadName(filename)
		if err != nil {
			if errkind.Of(err) != errkind.Invalid {
				t.Fatalf("uploadName(%q): %v, not a 400", filename, err)
			}
			return
		}
		if name == "" || name == "." || name == ".." || strings.ContainsAny(name, "/\x00%?#") || filepath.Base(name) != name ||
			len(name) > maxFileName || !utf8.ValidString(name) {
			t.Fatalf("uploadName(%q) = %q", filename, name)
		}
	})
}
