package api

import (
	"errors"
	"mime/multipart"
	"net/http"
	"strings"

	"github.com/sparkgate/sparkgate/internal/errkind"
	"github.com/sparkgate/sparkgate/internal/livy"
	"github.com/sparkgate/sparkgate/internal/store"
)

func (s *Server) completion(r *http.Request, sess *store.Session) (*reply, error) {
	var req livy.CompletionRequest
	if err := livy.Decode(r.Body, &req); err != nil {
		return nil, err
	}
	candidates, err := s.sessions.Complete(r.Context(), sess, &req)
	if err != nil {
		return nil, err
	}
	return ok(map[string][]string{"candidates": candidates})
}

func (s *Server) addResource(op string) sessionHandler {
	return func(r *http.Request, sess *store.Session) (*reply, error) {
		var req livy.AddResourceRequest
		if err := livy.Decode(r.Body, &req); err != nil {
			return nil, err
		}
		if req.URI == nil || strings.TrimSpace(*req.URI) == "" {
			return nil, errkind.Invalidf("uri is required")
		}
		if err := s.sessions.AddResource(r.Context(), sess.ID, op, *req.URI); err != nil {
			return nil, err
		}
		return &reply{status: http.StatusOK}, nil
	}
}

func (s *Server) uploadResource(field, op string) sessionHandler {
	return func(r *http.Request, sess *store.Session) (*reply, error) {
		file, header, err := uploadedFile(r, field)
		if err != nil {
			return nil, err
		}
		defer file.Close()
		if err := s.sessions.Upload(r.Context(), sess.ID, op, header.Filename, file); err != nil {
			return nil, err
		}
		return &reply{status: http.StatusOK}, nil
	}
}

// uploadedFile is the file in field of r's multipart form: a 400 for any other body, a 413
// (the MaxBytesError) for one over the route's bound.
func uploadedFile(r *http.Request, field string) (multipart.File, *multipart.FileHeader, error) {
	file, header, err := r.FormFile(field)
	if err != nil {
		if errors.As(err, new(*http.MaxBytesError)) {
			return nil, nil, err
		}
		return nil, nil, errkind.Invalidf("expected a multipart form with the file in field %q: %v", field, err)
	}
	return file, header, nil
}
