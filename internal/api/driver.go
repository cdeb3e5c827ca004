package api

import (
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"

	"github.com/sparkgate/sparkgate/internal/errkind"
	"github.com/sparkgate/sparkgate/internal/interactive"
	"github.com/sparkgate/sparkgate/internal/livy"
	"github.com/sparkgate/sparkgate/internal/store"
)

// asDriver serves h with the session whose driver the request authenticates as (its secret).
func (s *Server) asDriver(h sessionHandler) handler {
	return func(r *http.Request) (*reply, error) {
		sess, err := s.driverSession(r)
		if err != nil {
			return nil, err
		}
		return h(r, sess)
	}
}

// driverSession authenticates a driver's request.
func (s *Server) driverSession(r *http.Request) (*store.Session, error) {
	id, err := strconv.ParseInt(r.PathValue("ref"), 10, 64)
	if err != nil {
		return nil, errkind.Invalidf("invalid session id")
	}
	sess, err := s.sessions.Authenticate(r.Context(), id, r.Header.Get(interactive.SecretHeader))
	return sess, notFound(r.PathValue("ref"), err)
}

func (s *Server) driverReady(r *http.Request, sess *store.Session) (*reply, error) {
	body, err := interactive.DecodeReady(r.Body)
	if err != nil {
		return nil, err
	}
	if err := s.sessions.Ready(r.Context(), sess, body.AppID, body.SparkUIURL); err != nil {
		return nil, err
	}
	return ok(livy.Message{Msg: "ok"})
}

func (s *Server) driverNext(r *http.Request, sess *store.Session) (*reply, error) {
	var poll interactive.Poll
	if v := r.URL.Query().Get(interactive.QueryRunning); v != "" {
		sid, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return nil, errkind.Invalidf("invalid running statement id %q", v)
		}
		poll.Running = &sid
	}
	poll.CancelSeen = r.URL.Query().Get(interactive.QueryCancelSeen) == "1"
	msg, err := s.sessions.Next(r.Context(), sess, poll)
	if err != nil {
		return nil, err
	}
	if msg == nil {
		return &reply{status: http.StatusNoContent}, nil
	}
	return ok(msg)
}

func (s *Server) driverAnswer(r *http.Request, sess *store.Session) (*reply, error) {
	answer, err := interactive.DecodeAnswer(r.Body)
	if err != nil {
		return nil, err
	}
	if err := s.sessions.Answer(sess, r.PathValue("cid"), *answer); err != nil {
		return nil, err
	}
	return ok(livy.Message{Msg: "ok"})
}

func (s *Server) driverResult(r *http.Request, sess *store.Session) (*reply, error) {
	sid, err := statementID(r)
	if err != nil {
		return nil, err
	}
	body, err := interactive.DecodeResult(r.Body)
	if err != nil {
		return nil, err
	}
	if body.Output == nil {
		if err := s.sessions.Progress(r.Context(), sess, sid, *body.Progress); err != nil {
			return nil, err
		}
	} else if err := s.sessions.Result(r.Context(), sess, sid, body.Output); err != nil {
		return nil, err
	}
	return ok(livy.Message{Msg: "ok"})
}

// driverFile serves a driver in the cluster a file of the gateway's disk that a call handed it
// (interactive.Call.Fetch): one of its session's uploads, or a whitelisted local file. The
// upload lives on the instance that received it, the one the driver polls: a request that
// reaches another instance is passed on to that one, streamed.
func (s *Server) driverFile(w http.ResponseWriter, r *http.Request) {
	sess, err := s.driverSession(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if r.Header.Get(forwardedHeader) == "" {
		if addr, _ := s.sessions.CallPeer(r.Context(), sess); addr != "" {
			proxy := &httputil.ReverseProxy{
				Rewrite: func(pr *httputil.ProxyRequest) {
					pr.SetURL(&url.URL{Scheme: s.peers.scheme, Host: addr})
					pr.Out.Header.Set(forwardedHeader, "1")
				},
				Transport: s.peers.transport,
			}
			proxy.ServeHTTP(w, r)
			return
		}
	}
	f, info, err := s.sessions.OpenDriverFile(sess, r.URL.Query().Get("path"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	defer f.Close()
	w.Header().Set("Content-Type", "application/octet-stream")
	http.ServeContent(w, r, "", info.ModTime(), f)
}
