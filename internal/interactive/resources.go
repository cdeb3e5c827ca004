package interactive

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/sparkgate/sparkgate/internal/errkind"
	"github.com/sparkgate/sparkgate/internal/launcher"
	"github.com/sparkgate/sparkgate/internal/livy"
	"github.com/sparkgate/sparkgate/internal/store"
)

// Complete asks the driver for completion candidates of code at cursor, in the statement's kind.
func (m *Manager) Complete(ctx context.Context, sess *store.Session, req *livy.CompletionRequest) ([]string, error) {
	if req.Code == nil {
		return nil, errkind.Invalidf("code is required")
	}
	cursor := utf8.RuneCountInString(*req.Code)
	if req.Cursor != nil {
		cursor = *req.Cursor
	}
	if cursor < 0 || cursor > utf8.RuneCountInString(*req.Code) {
		return nil, errkind.Invalidf("cursor %d is outside the code (0 to %d)", cursor, utf8.RuneCountInString(*req.Code))
	}
	_, sessionKind := Request(sess)
	kind, err := livy.StatementKind(sessionKind, req.Kind)
	if err != nil {
		return nil, err
	}
	answer, err := m.Call(ctx, sess.ID, &Call{Op: OpComplete, Code: *req.Code, Kind: kind, Cursor: cursor})
	if err != nil {
		return nil, err
	}
	candidates := []string{}
	if answer.Error == "" {
		if err := json.Unmarshal(answer.Result, &candidates); err != nil || candidates == nil {
			candidates = []string{}
		}
	}
	return candidates, nil
}

// AddResource adds a jar, Python file or file (op addJar, addPyFile, addFile) to the running
// session's SparkContext, as Livy's add-jar, add-pyfile and add-file do.
// Local paths obey --local-dir-whitelist, as at create.
func (m *Manager) AddResource(ctx context.Context, id int64, op, uri string) error {
	resolved, err := m.launcher.Resolve("uri", uri)
	if err != nil {
		return err
	}
	return m.addResource(ctx, id, op, resolved)
}

func (m *Manager) addResource(ctx context.Context, id int64, op, uri string) error {
	answer, err := m.Call(ctx, id, &Call{Op: op, URI: uri, Fetch: (m.cfg.RemoteDrivers || m.cfg.DriversApart) && onGatewayDisk(uri)})
	if err != nil {
		return err
	}
	if answer.Error != "" {
		return errkind.Invalidf("%s", answer.Error)
	}
	return nil
}

// Upload stores a file sent to the session in its application directory (removed when the
// session is deleted, or with the directory at retention) and adds it as AddResource does.
func (m *Manager) Upload(ctx context.Context, id int64, op, filename string, content io.Reader) error {
	name, err := uploadName(filename)
	if err != nil {
		return err
	}
	sess, err := m.store.GetSession(ctx, store.KindInteractive, id)
	if err != nil {
		return err
	}
	dir := filepath.Join(m.uploadDir(sess.Tag), launcher.RandomSuffix())
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return fmt.Errorf("store upload: %w", err)
	}
	path := filepath.Join(dir, name)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o640)
	if err != nil {
		return fmt.Errorf("store upload: %w", err)
	}
	_, err = io.Copy(f, content)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.RemoveAll(dir)
		return fmt.Errorf("store upload: %w", err)
	}
	if err := m.checkUploads(sess); err != nil {
		os.RemoveAll(dir)
		return err
	}
	err = m.addResource(ctx, id, op, path)
	if errkind.Of(err) == errkind.Invalid {
		os.RemoveAll(dir) // the driver refused it: nothing will read it (an unanswered call might)
	}
	return err
}

// checkUploads refuses the upload just written when the session's uploads, with it, are over
// their bound. Each check sees every upload finished before it (and some under way), so
// concurrent uploads may all be refused near the bound but never all pass beyond it.
func (m *Manager) checkUploads(sess *store.Session) error {
	m.uploadsChecked.Lock()
	defer m.uploadsChecked.Unlock()
	var total int64
	err := filepath.WalkDir(m.uploadDir(sess.Tag), func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if info, err := d.Info(); err == nil && info.Mode().IsRegular() {
			total += info.Size()
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("count session %d's uploads: %w", sess.ID, err)
	}
	if total > m.cfg.MaxSessionUploadBytes {
		return errkind.New(errkind.TooLarge, "session %d's uploads would take %d bytes with this file, over the %d one session may hold (--max-session-upload-bytes)",
			sess.ID, total, m.cfg.MaxSessionUploadBytes)
	}
	return nil
}

// removeUploads removes the files uploaded to a session that was deleted or whose driver
// ended: nothing reads them any more (the session's record stays until deleted or retention).
func (m *Manager) removeUploads(id int64, tag string) {
	if err := os.RemoveAll(m.uploadDir(tag)); err != nil {
		m.log.Warn("remove session uploads", "id", id, "err", err)
	}
}

// uploadName is the name an upload is stored under: the last element of the name the client
// gave, one that Spark and the file system take as it is.
func uploadName(filename string) (string, error) {
	name := filepath.Base(filepath.Clean("/" + filename))
	switch {
	case name == "/" || name == ".":
		return "", errkind.Invalidf("the uploaded file needs a name")
	case len(name) > maxFileName:
		return "", errkind.Invalidf("the uploaded file's name is longer than %d bytes", maxFileName)
	case !utf8.ValidString(name) || strings.ContainsFunc(name, unicode.IsControl):
		return "", errkind.Invalidf("the uploaded file's name %q is not UTF-8 text without control characters", name)
	case strings.ContainsAny(name, "%?#"):
		return "", errkind.Invalidf("the uploaded file's name %q has %%, ? or #, which Spark reads as parts of a URI", name)
	}
	return name, nil
}

// maxFileName is the longest file name the file systems of Linux take (NAME_MAX).
const maxFileName = 255

// onGatewayDisk reports whether a resolved reference names a file of this host's (a path or
// file: URI; local: names one present on every node, and other schemes are remote).
func onGatewayDisk(uri string) bool {
	return strings.HasPrefix(uri, "/") || strings.HasPrefix(uri, "file:")
}

// OpenDriverFile opens the file of this host that the driver of sess may download
// (RouteFile): a regular file among its session's uploads, or one the local-path whitelist
// lets users add. Anything else is not found.
func (m *Manager) OpenDriverFile(sess *store.Session, path string) (*os.File, fs.FileInfo, error) {
	notFound := errkind.New(errkind.NotFound, "no file %q for this driver", path)
	local := filepath.Clean(path)
	if !strings.HasPrefix(local, m.uploadDir(sess.Tag)+"/") {
		resolved, err := m.launcher.Resolve("path", path)
		if err != nil || !onGatewayDisk(resolved) {
			return nil, nil, notFound
		}
		local = resolved
		if u, err := url.Parse(resolved); err == nil && u.Scheme == "file" {
			local = u.Path // Resolve re-encodes a path Spark would decode
		}
	}
	f, err := os.Open(local)
	if err != nil {
		return nil, nil, notFound
	}
	info, err := f.Stat()
	if err != nil || !info.Mode().IsRegular() {
		f.Close()
		return nil, nil, notFound
	}
	return f, info, nil
}

// Touch records activity on a session (Livy's connect).
func (m *Manager) Touch(ctx context.Context, id int64) error {
	_, err := m.store.UpdateSession(ctx, &store.UpdateParams{Kind: store.KindInteractive, ID: id, Active: true, Now: m.now()})
	return err
}

// UploadsDir is the directory of a session's uploads in its application directory, which
// retention removes with it (and every instance's sweep of its own data directory once the
// session is not running any more).
const UploadsDir = "uploads"

func (m *Manager) uploadDir(tag string) string {
	return filepath.Join(filepath.Dir(m.launcher.LogPath(tag)), UploadsDir)
}
