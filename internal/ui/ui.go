// Package ui serves the web UI: the lists of batches and sessions, a batch with its log, a
// session as a small notebook, the server's status and the API's reference. Pages are
// html/template shells with one script and one style sheet, all embedded in the binary, so
// nothing is fetched from elsewhere; every page reads and acts through the REST API with the
// browser's own credentials, under the same authentication, access and CSRF rules as any
// client.
package ui

import (
	"embed"
	"html/template"
	"io/fs"
	"net/http"
	"strconv"
)

//go:embed static templates
var assets embed.FS

// contentSecurityPolicy lets a page run its own script and style only, talk to its own
// origin only, and show the images of statement outputs (data: URIs).
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
	"base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// Handler serves the UI's pages and assets.
type Handler struct {
	pages  *template.Template
	static http.Handler
}

// New parses the embedded pages.
func New() (*Handler, error) {
	pages, err := template.ParseFS(assets, "templates/*.html")
	if err != nil {
		return nil, err
	}
	static, err := fs.Sub(assets, "static")
	if err != nil {
		return nil, err
	}
	return &Handler{pages: pages, static: http.StripPrefix("/ui/static/", http.FileServerFS(static))}, nil
}

// page is what the shell of a page is given: the script renders the rest.
type page struct {
	Title string
	Page  string // which of the script's pages: list, batch, session, status, api
	ID    string // the batch's or session's id
}

// Register serves the UI on mux: / goes to /ui/.
func (h *Handler) Register(mux *http.ServeMux) {
	mux.Handle("GET /{$}", http.RedirectHandler("/ui/", http.StatusFound))
	mux.Handle("GET /ui", http.RedirectHandler("/ui/", http.StatusFound))
	mux.Handle("GET /ui/{$}", h.render(func(*http.Request) (page, bool) { return page{Title: "Batches and sessions", Page: "list"}, true }))
	mux.Handle("GET /ui/status", h.render(func(*http.Request) (page, bool) { return page{Title: "Status", Page: "status"}, true }))
	mux.Handle("GET /ui/api", h.render(func(*http.Request) (page, bool) { return page{Title: "API", Page: "api"}, true }))
	for _, kind := range []string{"batch", "session"} {
		mux.Handle("GET /ui/"+map[string]string{"batch": "batches", "session": "sessions"}[kind]+"/{id}", h.render(func(r *http.Request) (page, bool) {
			id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
			return page{Title: kind + " " + r.PathValue("id"), Page: kind, ID: strconv.FormatInt(id, 10)}, err == nil && id >= 0
		}))
	}
	mux.Handle("GET /ui/static/", h.static)
}

func (h *Handler) render(of func(*http.Request) (page, bool)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, ok := of(r)
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Security-Policy", contentSecurityPolicy)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		h.pages.ExecuteTemplate(w, "page.html", p)
	})
}
