package api_test

import (
	"bytes"
	"encoding/json"
	"os"
	"testing"

	"github.com/sparkgate/sparkgate/internal/api"
	"github.com/sparkgate/sparkgate/internal/api/apitest"
)

// The served document is openapi.yaml, valid, as JSON. SPARKGATE_UPDATE_OPENAPI=1 (make
// openapi) writes openapi.json from openapi.yaml instead of comparing.
func TestOpenAPIJSONIsTheYAMLDocument(t *testing.T) {
	source, err := os.ReadFile("openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := apitest.Load(source)
	if err != nil {
		t.Fatal(err)
	}
	if doc.OpenAPI != "3.1.0" {
		t.Errorf("openapi %q, want 3.1.0", doc.OpenAPI)
	}
	want, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	want = append(want, '\n')
	if os.Getenv("SPARKGATE_UPDATE_OPENAPI") != "" {
		if err := os.WriteFile("openapi.json", want, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if !bytes.Equal(api.OpenAPIJSON, want) {
		t.Fatal("openapi.json is not openapi.yaml: run make openapi")
	}
	if _, err := apitest.OpenAPI(); err != nil {
		t.Fatal(err)
	}
}
