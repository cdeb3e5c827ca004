// Package launcher turns a session's Spark settings into a spark-submit command, enforces the
// server's submission policy (local-path whitelist, conf blacklist, impersonation), and starts,
// finds and signals applications by their tag through detached supervisors.
//
// spark-submit is always run from an argument vector, never a shell, and every user value is
// passed as "--flag=value" so that no value can be read as a flag of its own.
package launcher

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/sparkgate/sparkgate/internal/livy"
	"github.com/sparkgate/sparkgate/internal/supervisor"
)

// TagConf is the Spark conf key that carries the application's tag.
const TagConf = "spark.sparkgate.tag"

// DefaultClusterTag is the cluster-manager tag every application of a deployment carries
// beside its own (Config.ClusterTag), so that one request to the cluster manager lists them
// all.
const DefaultClusterTag = "sparkgate"

// Config is the launcher's share of the server configuration.
type Config struct {
	SparkHome  string
	Master     string
	DeployMode string
	// LocalDirWhitelist lists the directories local files may be submitted from.
	LocalDirWhitelist []string
	ConfBlacklist     []string
	// ConfAllowed opens keys (or patterns) of RestrictedConf to users.
	ConfAllowed   []string
	Impersonation bool
	// AppsDir holds one directory per application tag.
	AppsDir string
	// SupervisorCmd runs this binary's "supervise --detach".
	SupervisorCmd []string
	// Env is the environment spark-submit runs in (the tag is added).
	Env []string
	// ClusterTag is the tag every application of this deployment carries on the cluster
	// manager (DefaultClusterTag when empty).
	ClusterTag string
	// WorkDir is the working directory of every application ("": the server's): one place of
	// the server's own, shared by all, so that what Spark writes relative to it (the default
	// spark-warehouse and metastore_db) stays put, and never in the directory the server
	// happened to be started from.
	WorkDir string
	// AppUser, when set, is the OS user every application runs as (spark-submit and all under
	// it), never the gateway's; each application then works in a directory of its own under
	// AppWorkRoot, which that user may create entries in but not list.
	AppUser     string
	AppWorkRoot string
	// ProxyUserAccounts runs, with AppUser, the application of a proxy user (impersonation)
	// as that user's own OS account where one exists (runAs). Only where the proxy user is
	// authenticated, or allowed by the impersonation rules: an anonymous client may name any.
	ProxyUserAccounts bool
	// SubmitWait is how long a submission keeps trying while the cluster manager cannot be
	// reached (on YARN, Hadoop's client's yarn.resourcemanager.connect.max-wait.ms); 0 leaves
	// the client's own default.
	SubmitWait time.Duration
}

// Spec is what a session asks of Spark.
type Spec struct {
	File string
	// ServerFile marks File as the server's own program (the interactive driver): it is not
	// a user's file, so the whitelist does not apply to it.
	ServerFile     bool
	ClassName      string
	Args           []string
	Jars           []string
	PyFiles        []string
	Files          []string
	Archives       []string
	DriverMemory   string
	DriverCores    *int
	ExecutorMemory string
	ExecutorCores  *int
	NumExecutors   *int
	Queue          string
	Name           string
	ProxyUser      string
	Conf           map[string]string
}

// SpecOf is the spec of a request's shared submission fields, running file.
func SpecOf(file string, sub *livy.Submission) *Spec {
	s := &Spec{File: file, Jars: sub.Jars, PyFiles: sub.PyFiles, Files: sub.Files, Archives: sub.Archives,
		DriverCores: sub.DriverCores, ExecutorCores: sub.ExecutorCores, NumExecutors: sub.NumExecutors,
		Conf: map[string]string{}}
	for k, v := range sub.Conf {
		s.Conf[k] = string(v)
	}
	s.DriverMemory, s.ExecutorMemory = livy.Value(sub.DriverMemory), livy.Value(sub.ExecutorMemory)
	s.Queue, s.Name, s.ProxyUser = livy.Value(sub.Queue), livy.Value(sub.Name), livy.Value(sub.ProxyUser)
	return s
}

// Launcher builds and starts spark-submit commands.
type Launcher struct {
	cfg       Config
	whitelist []string // cleaned, symlinks resolved
}

// New checks the configuration and resolves the whitelist.
func New(cfg Config) (*Launcher, error) {
	if cfg.AppsDir == "" || len(cfg.SupervisorCmd) == 0 {
		return nil, errors.New("launcher: AppsDir and SupervisorCmd are required")
	}
	if cfg.ConfBlacklist == nil {
		cfg.ConfBlacklist = DefaultConfBlacklist
	}
	if cfg.ClusterTag == "" {
		cfg.ClusterTag = DefaultClusterTag
	}
	if cfg.AppUser != "" {
		if cfg.AppWorkRoot == "" {
			return nil, errors.New("launcher: AppWorkRoot is required with AppUser")
		}
		// who the application is, and the gateway's own ticket cache, are not the gateway's
		cfg.Env = slices.DeleteFunc(slices.Clone(cfg.Env), func(kv string) bool {
			name, _, _ := strings.Cut(kv, "=")
			return slices.Contains([]string{"HOME", "USER", "LOGNAME", "KRB5CCNAME"}, name)
		})
	}
	l := &Launcher{cfg: cfg}
	for _, d := range cfg.LocalDirWhitelist {
		if d = strings.TrimSpace(d); d == "" {
			continue
		}
		if !filepath.IsAbs(d) {
			abs, err := filepath.Abs(d)
			if err != nil {
				return nil, fmt.Errorf("local-dir-whitelist entry %q: %w", d, err)
			}
			d = abs
		}
		l.whitelist = append(l.whitelist, resolveExisting(filepath.Clean(d)))
	}
	return l, nil
}

// deployMode is the deploy mode spec is submitted in: the gateway's, except that the
// interactive driver (a Python program) runs in client mode on Spark standalone, which runs no
// Python driver in cluster mode — beside the gateway, with its executors on the Workers.
func (l *Launcher) deployMode(spec *Spec) string {
	if spec.ServerFile && strings.HasPrefix(l.cfg.Master, "spark://") {
		return "client"
	}
	return l.cfg.DeployMode
}

// ClusterTag is the tag every application of this deployment carries on the cluster manager.
func (l *Launcher) ClusterTag() string { return l.cfg.ClusterTag }

// SparkHome is the Spark installation spark-submit comes from ("" when it is found on PATH).
func (l *Launcher) SparkHome() string { return l.cfg.SparkHome }

// SparkEnv is the value of key in spark-submit's environment.
func (l *Launcher) SparkEnv(key string) string {
	for i := len(l.cfg.Env) - 1; i >= 0; i-- {
		if v, ok := strings.CutPrefix(l.cfg.Env[i], key+"="); ok {
			return v
		}
	}
	return ""
}

// SparkConfDir is where spark-submit reads spark-defaults.conf: SPARK_CONF_DIR of its
// environment, else the Spark installation's conf directory ("" when neither is known).
func (l *Launcher) SparkConfDir() string {
	if dir := l.SparkEnv("SPARK_CONF_DIR"); dir != "" {
		return dir
	}
	if l.cfg.SparkHome != "" {
		return filepath.Join(l.cfg.SparkHome, "conf")
	}
	return ""
}

// SparkSubmit is the spark-submit executable used.
func (l *Launcher) SparkSubmit() string {
	if l.cfg.SparkHome == "" {
		return "spark-submit"
	}
	return filepath.Join(l.cfg.SparkHome, "bin", "spark-submit")
}

// TagPrefix begins every application's tag.
const TagPrefix = "sparkgate-"

// NewTag returns a fresh application tag for the session of that kind and id.
func NewTag(kind string, id int64) string {
	return fmt.Sprintf("%s%s-%d-%s", TagPrefix, kind, id, RandomSuffix())
}

// RandomSuffix is the random part of a tag.
func RandomSuffix() string {
	b := make([]byte, 5)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// validTag reports whether tag is safe as a directory name: 1 to 128 of [a-z0-9-].
func validTag(tag string) bool {
	if len(tag) == 0 || len(tag) > 128 {
		return false
	}
	for i := 0; i < len(tag); i++ {
		if c := tag[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// Dir is the application directory of tag.
func (l *Launcher) Dir(tag string) (supervisor.Dir, error) {
	if !validTag(tag) {
		return "", fmt.Errorf("invalid application tag %q", tag)
	}
	return supervisor.Dir(l.cfg.AppsDir + "/" + tag), nil
}

// LogPath is where the application's output is kept.
func (l *Launcher) LogPath(tag string) string {
	d, err := l.Dir(tag)
	if err != nil {
		return ""
	}
	return d.LogPath()
}

// Start launches argv for tag through a detached supervisor and returns its pid. Starting
// twice for one tag runs spark-submit at most once (see package supervisor).
func (l *Launcher) Start(ctx context.Context, tag string, argv []string, extraEnv ...string) (int, error) {
	d, err := l.Dir(tag)
	if err != nil {
		return 0, err
	}
	env := append(append(slices.Clone(l.cfg.Env), "SPARKGATE_TAG="+tag), extraEnv...)
	if err := os.MkdirAll(string(d), 0o750); err != nil {
		return 0, err
	}
	if argv, err = l.confOutOfArgv(string(d), argv); err != nil {
		return 0, err
	}
	if l.cfg.WorkDir != "" {
		if err := os.MkdirAll(l.cfg.WorkDir, 0o750); err != nil {
			return 0, fmt.Errorf("make the applications' working directory: %w", err)
		}
	}
	supervise := l.cfg.SupervisorCmd
	if l.cfg.AppUser != "" {
		if err := makeAppWorkRoot(l.cfg.AppWorkRoot); err != nil {
			return 0, err
		}
		as := &supervisor.AppUser{Name: l.runAs(argv), WorkDir: filepath.Join(l.cfg.AppWorkRoot, tag)}
		supervise = append(slices.Clone(supervise), as.Args()...)
	}
	return supervisor.Spawn(ctx, supervise, d, l.cfg.WorkDir, argv, env)
}

// makeAppWorkRoot makes the parent of the applications' own working directories: every user
// may create an entry in it, none may list it, and only an entry's owner may remove or rename
// it (the sticky bit, as /tmp).
func makeAppWorkRoot(root string) error {
	if err := os.MkdirAll(root, 0o700); err != nil {
		return fmt.Errorf("make the applications' working directories: %w", err)
	}
	if err := os.Chmod(root, 0o733|os.ModeSticky); err != nil {
		return fmt.Errorf("make the applications' working directories: %w", err)
	}
	return nil
}

// StartAside runs argv once, detached, under a supervisor of its own in the subdirectory name
// of the application's directory (its log there): what acts on the application for seconds
// (a cluster manager's client killing it) without holding up the caller, and goes with the
// application's directory.
func (l *Launcher) StartAside(ctx context.Context, tag, name string, argv []string) error {
	d, err := l.Dir(tag)
	if err != nil {
		return err
	}
	if !validTag(name) {
		return fmt.Errorf("invalid name %q", name)
	}
	env := append(slices.Clone(l.cfg.Env), "SPARKGATE_TAG="+tag)
	_, err = supervisor.Spawn(ctx, l.cfg.SupervisorCmd, supervisor.Dir(string(d)+"/"+name), l.cfg.WorkDir, argv, env)
	return err
}

// Master is the master URL applications are submitted to.
func (l *Launcher) Master() string { return l.cfg.Master }

// Inspect tells what became of the application tagged tag, from its directory.
func (l *Launcher) Inspect(_ context.Context, tag string) (App, error) {
	st, exit, err := l.Process(tag)
	if err != nil || st != supervisor.Finished {
		return App{Status: st}, err
	}
	return App{Status: st, End: EndOf(exit)}, nil
}

// Process tells what became of the local process of tag (spark-submit and its supervisor).
func (l *Launcher) Process(tag string) (supervisor.Status, *supervisor.Exit, error) {
	d, err := l.Dir(tag)
	if err != nil {
		return 0, nil, err
	}
	return supervisor.Inspect(d)
}

// Kill signals the application's process group: SIGTERM, or SIGKILL by force.
func (l *Launcher) Kill(_ context.Context, tag string, force bool) (bool, error) {
	d, err := l.Dir(tag)
	if err != nil {
		return false, err
	}
	sig := syscall.SIGTERM
	if force {
		sig = syscall.SIGKILL
	}
	return supervisor.Signal(d, sig)
}

// Note appends a line of the server's own to the application's log.
func (l *Launcher) Note(tag, line string) error {
	d, err := l.Dir(tag)
	if err != nil {
		return err
	}
	return supervisor.AppendLog(d, "sparkgate: "+line)
}

// Remove deletes the application's directory (after it finished and was purged).
func (l *Launcher) Remove(tag string) error {
	d, err := l.Dir(tag)
	if err != nil {
		return err
	}
	if err := os.RemoveAll(string(d)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if l.cfg.AppUser != "" {
		if err := supervisor.RemoveWorkDir(filepath.Join(l.cfg.AppWorkRoot, tag)); err != nil {
			return err
		}
	}
	return nil
}

// Capabilities of local processes: found again through the applications' directory, which
// is their scope; spark-submit runs here.
func (l *Launcher) Capabilities() (Capabilities, error) {
	volume, err := l.Volume()
	if err != nil {
		return Capabilities{}, fmt.Errorf("identify the applications' directory: %w", err)
	}
	return Capabilities{Scope: volume, SubmitsLocally: true}, nil
}

// DeployMode is the deploy mode applications are submitted in ("" for Spark's default,
// client).
func (l *Launcher) DeployMode() string { return l.cfg.DeployMode }

// Volume returns the identity of the applications' directory: a random id written once into
// it, the same for every instance that shares the directory (and so can see, signal and
// re-find the applications in it), different for an instance with a directory of its own.
func (l *Launcher) Volume() (string, error) {
	path := filepath.Join(l.cfg.AppsDir, ".volume-id")
	if b, err := os.ReadFile(path); err == nil && len(b) > 0 {
		return strings.TrimSpace(string(b)), nil
	}
	if err := os.MkdirAll(l.cfg.AppsDir, 0o750); err != nil {
		return "", err
	}
	tmp, err := os.CreateTemp(l.cfg.AppsDir, ".volume-id-*")
	if err != nil {
		return "", err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.WriteString(RandomSuffix() + RandomSuffix() + "\n"); err != nil {
		tmp.Close()
		return "", err
	}
	if err := tmp.Close(); err != nil {
		return "", err
	}
	// Link fails when the file exists: of instances starting together, the first one's id wins.
	if err := os.Link(tmp.Name(), path); err != nil && !errors.Is(err, fs.ErrExist) {
		return "", err
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(b)), nil
}

// Ender is the part of a backend that ends applications.
type Ender interface {
	Inspect(ctx context.Context, tag string) (App, error)
	Kill(ctx context.Context, tag string, force bool) (bool, error)
}

// MaxDriverLogBytes bounds what KeepDriverLog keeps of each of a driver's files (the end).
const MaxDriverLogBytes = 8 << 20

// KeepDriverLog appends a cluster-mode driver's stdout and stderr, as read from where the
// cluster manager keeps them (source names it), to the application's log, so that they stay
// readable under Livy's paging after the cluster removed them. It runs when the application
// is seen ended; a marker file in its directory makes it once across restarts and instances
// sharing the directory.
func (l *Launcher) KeepDriverLog(tag, source string, read func(name string) (string, error)) {
	d, err := l.Dir(tag)
	if err != nil {
		return
	}
	if err := os.MkdirAll(string(d), 0o750); err != nil {
		return
	}
	claim, err := os.OpenFile(filepath.Join(string(d), "driver-log-kept"), os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil { // kept already (fs.ErrExist), or the directory cannot take the marker
		return
	}
	claim.Close()
	for _, name := range []string{"stdout", "stderr"} {
		content, err := read(name)
		if err != nil {
			_ = supervisor.AppendLog(d, fmt.Sprintf("sparkgate: the driver's %s could not be read from %s: %v", name, source, err))
			continue
		}
		_ = supervisor.AppendLog(d, fmt.Sprintf("sparkgate: the driver's %s, as %s served it:\n%s", name, source, content))
	}
}
