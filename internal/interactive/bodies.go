package interactive

import (
	"bytes"
	"encoding/json"
	"io"

	"github.com/sparkgate/sparkgate/internal/errkind"
	"github.com/sparkgate/sparkgate/internal/livy"
)

// The bodies a driver sends (RouteReady, RouteResult, RouteAnswer), decoded as strictly as a
// client's: every malformed one is a 400.

// Ready is RouteReady's body: the SparkSession is up.
type Ready struct {
	AppID      string `json:"appId"`
	SparkUIURL string `json:"sparkUiUrl"`
}

// DecodeReady reads a Ready.
func DecodeReady(r io.Reader) (*Ready, error) {
	var body Ready
	if err := livy.Decode(r, &body); err != nil {
		return nil, err
	}
	return &body, nil
}

// ResultBody is RouteResult's body: a statement's output (a JSON object), or its progress
// (between 0 and 1) while it runs.
type ResultBody struct {
	Output   json.RawMessage `json:"output"`
	Progress *float64        `json:"progress"`
}

// DecodeResult reads a ResultBody that carries one of the two.
func DecodeResult(r io.Reader) (*ResultBody, error) {
	var body ResultBody
	if err := livy.Decode(r, &body); err != nil {
		return nil, err
	}
	if len(body.Output) == 0 || bytes.Equal(bytes.TrimSpace(body.Output), []byte("null")) {
		body.Output = nil
		if body.Progress == nil {
			return nil, errkind.Invalidf("output is required")
		}
	} else if trimmed := bytes.TrimSpace(body.Output); trimmed[0] != '{' {
		return nil, errkind.Invalidf("output must be a JSON object")
	}
	if body.Progress != nil && (*body.Progress < 0 || *body.Progress > 1) {
		return nil, errkind.Invalidf("progress must be between 0 and 1")
	}
	return &body, nil
}

// DecodeAnswer reads RouteAnswer's body.
func DecodeAnswer(r io.Reader) (*CallAnswer, error) {
	var answer CallAnswer
	if err := livy.Decode(r, &answer); err != nil {
		return nil, err
	}
	return &answer, nil
}
