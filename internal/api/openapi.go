package api

import (
	_ "embed"
	"net/http"
)

// OpenAPIJSON is the API's OpenAPI 3.1 document as /openapi.json serves it. Its source is
// openapi.yaml; `make openapi` writes this file from it (TestOpenAPIJSONIsTheYAMLDocument fails
// when the two differ), so that the server carries no YAML parser nor OpenAPI library: they
// cost its idle process 6.9 MB of 25.8 MB. The integration tests keep the document true by
// validating every request they send and every response they get against it (apitest.OpenAPI).
//
//go:embed openapi.json
var OpenAPIJSON []byte

func (s *Server) serveOpenAPI() {
	s.mux.Handle("GET /openapi.json", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(OpenAPIJSON)
	}))
}
