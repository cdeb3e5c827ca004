package api

import (
	"bytes"
	"errors"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/sparkgate/sparkgate/internal/errkind"
)

// A session reference, paging parameters and an idempotency key, whatever a client sends:
// never a panic, every refusal a 400, an id never negative, a page never past its bounds.
func FuzzRequestParameters(f *testing.F) {
	for _, seed := range [][3]string{{"12", "0", "100"}, {"-5", "-1", "99999999999999999999"}, {"nightly etl", "x", ""},
		{"٣", "1e3", "0x10"}, {"0f8fad5b-d9cb-469f-a165-70867728950e", "", "-0"}} {
		f.Add(seed[0], seed[1], seed[2])
	}
	f.Fuzz(func(t *testing.T, ref, from, size string) {
		id, name, err := parseRef(ref)
		if err != nil && errkind.Of(err) != errkind.Invalid {
			t.Fatalf("parseRef(%q): %v, not a 400", ref, err)
		}
		if err == nil && id < 0 {
			t.Fatalf("parseRef(%q) = %d, %q: a negative id", ref, id, name)
		}
		r := httptest.NewRequest("GET", "/batches?"+url.Values{"from": {from}, "size": {size}}.Encode(), nil)
		f, s, err := pageParams(r)
		if err != nil && errkind.Of(err) != errkind.Invalid {
			t.Fatalf("pageParams(%q, %q): %v, not a 400", from, size, err)
		}
		if err == nil && (f < 0 || s < 0 || s > maxPageSize) {
			t.Fatalf("pageParams(%q, %q) = %d, %d", from, size, f, s)
		}
		if _, err := requestIDFrom(http.Header{"Requestid": {ref}}); err != nil && errkind.Of(err) != errkind.Invalid {
			t.Fatalf("requestIDFrom(%q): %v, not a 400", ref, err)
		}
	})
}

// Every body sent to an upload route: never a panic, a 400 for anything but a multipart form
// with the file, a 413 past the bound, and an accepted file whole.
func FuzzUploads(f *testing.F) {
	var form bytes.Buffer
	mw := multipart.NewWriter(&form)
	fw, _ := mw.CreateFormFile("file", "notes.txt")
	fw.Write([]byte("words"))
	mw.Close()
	f.Add(mw.FormDataContentType(), form.Bytes())
	f.Add("multipart/form-data; boundary=x", []byte("--x\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a\"\r\n\r\nabc\r\n--x--"))
	f.Add("multipart/form-data; boundary=x", []byte("--x\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\nnot a file\r\n--x--"))
	f.Add("multipart/form-data", []byte("--\r\n"))
	f.Add("text/plain", []byte("hello"))
	f.Add("multipart/mixed; boundary=\"\"", []byte{})
	f.Fuzz(func(t *testing.T, contentType string, body []byte) {
		r := httptest.NewRequest("POST", "/sessions/0/upload-file", bytes.NewReader(body))
		r.Header.Set("Content-Type", contentType)
		r.Body = http.MaxBytesReader(httptest.NewRecorder(), r.Body, 4096)
		file, header, err := uploadedFile(r, "file")
		if r.MultipartForm != nil {
			defer r.MultipartForm.RemoveAll()
		}
		if err != nil {
			if errkind.Of(err) != errkind.Invalid && !errors.As(err, new(*http.MaxBytesError)) {
				t.Fatalf("uploadedFile(%q, %q): %v, neither a 400 nor a 413", contentType, body, err)
			}
			return
		}
		defer file.Close()
		content, err := io.ReadAll(file)
		if err != nil || int64(len(content)) != header.Size {
			t.Fatalf("an accepted upload reads %d bytes, %v; its header says %d", len(content), err, header.Size)
		}
	})
}
