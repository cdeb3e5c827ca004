package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/sparkgate/sparkgate/internal/api/apitest"
)

// The OpenAPI document is kept true by the whole suite: every request a test sends through a
// server's client (s.do, s.client) and every response it gets are checked against it. A
// response must match the document whatever its status; a request must when the server took
// it (a status below 400): the tests send malformed requests on purpose, and the server's
// refusal of them is what they check.

var openAPIRouter = sync.OnceValues(func() (routers.Router, error) {
	doc, err := apitest.OpenAPI()
	if err != nil {
		return nil, err
	}
	doc.Servers = nil // any host: the servers of the tests have ports of their own
	return legacy.NewRouter(doc)
})

// validating is a transport that checks each exchange against the OpenAPI document and fails
// the test on any drift.
type validating struct {
	t    testing.TB
	base http.RoundTripper
}

func (v validating) RoundTrip(req *http.Request) (*http.Response, error) {
	var reqBody []byte
	if req.Body != nil {
		reqBody, _ = io.ReadAll(req.Body)
		req.Body.Close()
		req.Body = io.NopCloser(bytes.NewReader(reqBody))
	}
	resp, err := v.base.RoundTrip(req)
	if err != nil || req.Method == http.MethodHead {
		return resp, err
	}
	respBody, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(respBody))
	if err != nil {
		return resp, nil // the test reads the same failure
	}
	if problem := checkExchange(req, reqBody, resp, respBody); problem != "" {
		v.t.Errorf("OpenAPI drift: %s %s → %d: %s", req.Method, req.URL.RequestURI(), resp.StatusCode, problem)
	}
	return resp, nil
}

func checkExchange(req *http.Request, reqBody []byte, resp *http.Response, respBody []byte) string {
	router, err := openAPIRouter()
	if err != nil {
		return err.Error()
	}
	probe := req.Clone(context.Background())
	probe.Body = io.NopCloser(bytes.NewReader(reqBody))
	route, params, err := router.FindRoute(probe)
	if err != nil {
		// a route the document does not have must be one the server does not have either
		var msg map[string]any
		if (resp.StatusCode == 404 || resp.StatusCode == 405) && json.Unmarshal(respBody, &msg) == nil && msg["msg"] != nil {
			return ""
		}
		return "no route in the document: " + err.Error()
	}
	opts := &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, MultiError: true, IncludeResponseStatus: true}
	in := &openapi3filter.RequestValidationInput{Request: probe, PathParams: params, Route: route, Options: opts}
	if resp.StatusCode < 400 && !strings.HasPrefix(req.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil {
			return "request: " + err.Error()
		}
	}
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: resp.StatusCode, Header: resp.Header, Options: opts}
	if err := openapi3filter.ValidateResponse(context.Background(), out.SetBodyBytes(respBody)); err != nil {
		return "response: " + err.Error()
	}
	return ""
}

// /openapi.json serves the document the suite checks against.
func TestOpenAPIServed(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverOpts{sparkHome: testdata(t, "stubspark")})
	r := s.do("GET", "/openapi.json", "")
	if r.status != 200 || r.json(t)["openapi"] != "3.1.0" {
		t.Fatalf("/openapi.json: %d %.200s", r.status, r.body)
	}
	paths, _ := r.json(t)["paths"].(map[string]any)
	for _, p := range []string{"/batches", "/batches/id", "/batches/{ref}", "/sessions/{ref}/statements/{sid}/cancel", "/readyz"} {
		if paths[p] == nil {
			t.Errorf("/openapi.json has no %s", p)
		}
	}
}
