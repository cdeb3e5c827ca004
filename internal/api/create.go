package api

import (
	"context"
	"net/http"
	"strconv"

	"github.com/sparkgate/sparkgate/internal/access"
	"github.com/sparkgate/sparkgate/internal/auth"
	"github.com/sparkgate/sparkgate/internal/errkind"
	"github.com/sparkgate/sparkgate/internal/idempotency"
	"github.com/sparkgate/sparkgate/internal/livy"
	"github.com/sparkgate/sparkgate/internal/store"
)

// createRoutes serves one session type's creates: Livy's POST unchanged, and LIVY-782's
// PUT with a requestId and reserve-then-PUT. T is the type's create request.
type createRoutes[T any] struct {
	route string // "/batches" or "/sessions"
	// decode reads a create body and the putKey it may carry.
	decode  func(r *http.Request) (*T, *string, error)
	create  func(ctx context.Context, req *T, opts idempotency.Options) (*store.Created, error)
	reserve func(ctx context.Context, owner string) (int64, string, error)
	view    func(*store.Session) any
	// proxyUser is where the create request holds its proxyUser.
	proxyUser func(*T) **string
	policy    *access.Policy
}

func (c createRoutes[T]) register(s *Server) {
	for _, p := range []string{c.route, c.route + "/{$}"} {
		s.handle("POST "+p, s.unlessDraining(c.post))
		s.handle("PUT "+p, s.unlessDraining(c.putWithRequestID))
	}
	s.handle("POST "+c.route+"/id", s.unlessDraining(c.reserveID))
	s.handle("PUT "+c.route+"/{ref}", s.unlessDraining(c.putReserved))
}

// errDraining refuses a create while the server shuts down.
var errDraining = errkind.New(errkind.Unavailable,
	"this sparkgate instance is shutting down: retry, and another instance takes the create (a PUT with the same requestId stays exactly-once)")

// unlessDraining refuses creates once the server shuts down (Config.Draining): a 503 that a
// client or balancer retries elsewhere, and nothing made here that a peer would then adopt.
func (s *Server) unlessDraining(h handler) handler {
	return func(r *http.Request) (*reply, error) {
		if s.cfg.Draining != nil && s.cfg.Draining() {
			return nil, errDraining
		}
		return h(r)
	}
}

// body decodes the create body, insisting on a putKey exactly when wantPutKey.
func (c createRoutes[T]) body(r *http.Request, wantPutKey bool) (*T, string, error) {
	req, putKey, err := c.decode(r)
	if err != nil {
		return nil, "", err
	}
	switch {
	case wantPutKey && (putKey == nil || *putKey == ""):
		return nil, "", errkind.Invalidf("PUT %s/{id} needs \"putKey\" in the body: the one POST %s/id returned with the id", c.route, c.route)
	case !wantPutKey && putKey != nil:
		return nil, "", errkind.Invalidf("putKey is only accepted by PUT %s/{id}, with an id reserved by POST %s/id", c.route, c.route)
	case wantPutKey:
		return req, *putKey, nil
	}
	return req, "", nil
}

// post is Livy's create, unchanged.
func (c createRoutes[T]) post(r *http.Request) (*reply, error) {
	req, _, err := c.body(r, false)
	if err != nil {
		return nil, err
	}
	return c.respond(r, req, idempotency.Options{})
}

// putWithRequestID is LIVY-782's first proposal: PUT with a requestId header.
func (c createRoutes[T]) putWithRequestID(r *http.Request) (*reply, error) {
	requestID, err := requestIDFrom(r.Header)
	if err != nil {
		return nil, err
	}
	req, _, err := c.body(r, false)
	if err != nil {
		return nil, err
	}
	return c.respond(r, req, idempotency.Options{RequestID: requestID})
}

// reserveID is the second proposal's first half: POST /{type}/id.
func (c createRoutes[T]) reserveID(r *http.Request) (*reply, error) {
	id, putKey, err := c.reserve(r.Context(), auth.From(r.Context()).User)
	if err != nil {
		return nil, err
	}
	return &reply{status: http.StatusCreated, body: &livy.Reservation{SessionID: id, PutKey: putKey}}, nil
}

// putReserved is the second half: PUT /{type}/{id} with the reservation's putKey.
func (c createRoutes[T]) putReserved(r *http.Request) (*reply, error) {
	ref := r.PathValue("ref")
	id, name, err := parseRef(ref)
	if err != nil {
		return nil, err
	}
	if name != "" {
		return nil, errkind.Invalidf("PUT %s/%s: the path must be an id reserved by POST %s/id", c.route, ref, c.route)
	}
	req, putKey, err := c.body(r, true)
	if err != nil {
		return nil, err
	}
	return c.respond(r, req, idempotency.Options{ReservedID: &id, PutKey: putKey})
}

// respond answers 201 for a new session and 200 for a replay, with its current view.
func (c createRoutes[T]) respond(r *http.Request, req *T, opts idempotency.Options) (*reply, error) {
	id := auth.From(r.Context())
	opts.Owner = id.User
	proxy := c.proxyUser(req)
	as, err := c.policy.ProxyUser(id, livy.Value(*proxy), r.URL.Query().Get("doAs"))
	if err != nil {
		return nil, err
	}
	*proxy = livy.Optional(as)
	created, err := c.create(r.Context(), req, opts)
	if err != nil {
		return nil, err
	}
	rep := &reply{status: http.StatusCreated, body: c.view(created.Session),
		header: http.Header{"Location": {c.route + "/" + strconv.FormatInt(created.Session.ID, 10)}}}
	if created.Replayed {
		rep.status = http.StatusOK
		rep.header.Set("Idempotent-Replayed", "true")
	}
	return rep, nil
}
