package server

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/sparkgate/sparkgate/internal/instance"
	"github.com/sparkgate/sparkgate/internal/interactive"
	"github.com/sparkgate/sparkgate/internal/launcher"
	"github.com/sparkgate/sparkgate/internal/logfile"
)

// appDirs are the application directories of this instance's data directory, as the
// instance's sweep sees them.
type appDirs struct {
	launcher *launcher.Launcher
	appsDir  string
	logs     *logfile.Index
}

var _ instance.Holdings = appDirs{}

// Held lists the directories named by a tag, each changed when it or a file in it last was.
func (a appDirs) Held() ([]instance.Held, error) {
	entries, err := os.ReadDir(a.appsDir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []instance.Held
	for _, e := range entries {
		if !e.IsDir() || !strings.HasPrefix(e.Name(), launcher.TagPrefix) {
			continue
		}
		dir := filepath.Join(a.appsDir, e.Name())
		info, err := e.Info()
		if err != nil {
			continue // removed meanwhile
		}
		h := instance.Held{Tag: e.Name(), Changed: info.ModTime()}
		files, _ := os.ReadDir(dir)
		for _, f := range files {
			if fi, err := f.Info(); err == nil && fi.ModTime().After(h.Changed) {
				h.Changed = fi.ModTime()
			}
			if f.Name() == interactive.UploadsDir && f.IsDir() {
				h.Uploads = true
			}
		}
		out = append(out, h)
	}
	return out, nil
}

func (a appDirs) RemoveUploads(tag string) error {
	d, err := a.launcher.Dir(tag)
	if err != nil {
		return err
	}
	return os.RemoveAll(filepath.Join(string(d), interactive.UploadsDir))
}

func (a appDirs) Remove(tag string) error {
	a.logs.Forget(a.launcher.LogPath(tag))
	return a.launcher.Remove(tag)
}
