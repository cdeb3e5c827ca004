package server

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/sparkgate/sparkgate/internal/config"
	"github.com/sparkgate/sparkgate/internal/supervisor"
)

// checkAppUser refuses, at start, an --app-user this process cannot run applications as.
func checkAppUser(name string) error {
	u, err := user.Lookup(name)
	if err != nil {
		return fmt.Errorf("app-user: %w", err)
	}
	if u.Uid == "0" || u.Uid == strconv.Itoa(os.Getuid()) {
		return fmt.Errorf("app-user %s must be a user of its own, neither root nor the gateway's user", name)
	}
	if groups, err := u.GroupIds(); err == nil && slices.Contains(groups, strconv.Itoa(os.Getgid())) {
		return fmt.Errorf("app-user %s is in the gateway's group %d, which reads the applications' logs and the store's directory: give it a group of its own", name, os.Getgid())
	}
	if err := supervisor.CanRunAsOthers(); err != nil {
		return fmt.Errorf("app-user %s: %w", name, err)
	}
	return nil
}

// The entries of the data directory an application's user reaches with --app-user: the driver
// program (read-only) and the parent of its own working directory.
const (
	driverDirName  = "driver"
	appWorkDirName = "app-work"
)

// confineDataDir keeps the data directory out of the applications' reach with --app-user: the
// directory itself may be passed through (0711: the driver program and the applications' own
// working directories are under it) but not listed, and nothing else in it is open to others —
// the store, the application directories with their logs and secrets, the shared working
// directory, the gateway's ticket cache.
func confineDataDir(dataDir string) error {
	if err := os.MkdirAll(dataDir, 0o711); err != nil {
		return err
	}
	if err := os.Chmod(dataDir, 0o711); err != nil {
		return fmt.Errorf("confine the data directory: %w", err)
	}
	entries, err := os.ReadDir(dataDir)
	if err != nil {
		return fmt.Errorf("confine the data directory: %w", err)
	}
	for _, e := range entries {
		if e.Name() == driverDirName || e.Name() == appWorkDirName || e.Type()&fs.ModeSymlink != 0 {
			continue
		}
		path := filepath.Join(dataDir, e.Name())
		fi, err := os.Lstat(path)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			return fmt.Errorf("confine the data directory: %w", err)
		}
		if perm := fi.Mode().Perm(); perm&0o007 != 0 {
			if err := os.Chmod(path, fi.Mode()&^0o007); err != nil {
				return fmt.Errorf("confine the data directory: %w", err)
			}
		}
	}
	return nil
}

// userCodeOnThisHost says whether users' code runs on the gateway's host: the drivers of local
// and client mode, and the interactive drivers of Spark standalone (always in client mode).
func userCodeOnThisHost(cfg *config.Config) bool {
	return strings.HasPrefix(cfg.SparkMaster, "local") || cfg.DeployMode != "cluster" || strings.HasPrefix(cfg.SparkMaster, "spark://")
}

// warnUserCodeReach says, once at start, what users' code reaches on a server that
// authenticates its users but runs their code as its own OS user.
func warnUserCodeReach(cfg *config.Config, dataDir string, log *slog.Logger) {
	if cfg.Auth.Type == "none" || cfg.AppUser != "" || !userCodeOnThisHost(cfg) {
		return
	}
	log.Warn("users' code runs on this host as the gateway's own OS user (local or client mode, no --app-user): it can read and change the store "+
		"(every user's statements and outputs), the other applications' directories and logs, the files of the gateway's user (TLS key, htpasswd, keytabs, "+
		"ticket caches), and so undo authentication and access control; give --app-user to run applications as an OS user of their own",
		"data_dir", dataDir, "master", cfg.SparkMaster, "auth", cfg.Auth.Type)
}
