// Package apitest holds what the tests of the API share: the OpenAPI document, loaded and
// checked (kin-openapi stays out of the server's binary).
package apitest

import (
	"context"
	"fmt"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/sparkgate/sparkgate/internal/api"
)

// OpenAPI loads and checks the document the server serves.
func OpenAPI() (*openapi3.T, error) {
	return Load(api.OpenAPIJSON)
}

// Load loads and checks an OpenAPI document, in JSON or YAML.
func Load(data []byte) (*openapi3.T, error) {
	doc, err := openapi3.NewLoader().LoadFromData(data)
	if err != nil {
		return nil, fmt.Errorf("load the OpenAPI document: %w", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("the OpenAPI document is not valid: %w", err)
	}
	return doc, nil
}
