package launcher

// The submission policy: what a session's settings become on spark-submit's command line, and
// which files a user may name (the local-path whitelist, the conf blacklist).

import (
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/sparkgate/sparkgate/internal/errkind"
)

// DefaultConfBlacklist is Livy's spark-blacklist.conf: settings users may not override.
var DefaultConfBlacklist = []string{
	"spark.master", "spark.submit.deployMode",
	"spark.yarn.jar", "spark.yarn.jars", "spark.yarn.archive",
	"livy.rsc.server.idle-timeout",
}

// fileListConfs are the conf keys whose values are lists of files, each of which passes the
// same path policy as the request's own file lists.
var fileListConfs = []string{
	"spark.jars", "spark.files", "spark.submit.pyFiles", "spark.archives",
	"spark.yarn.dist.archives", "spark.yarn.dist.files", "spark.yarn.dist.jars",
}

// yarnConnectWait is how long Hadoop's YARN client keeps trying to reach the RM.
const yarnConnectWait = "spark.hadoop.yarn.resourcemanager.connect.max-wait.ms"

var listSeparator = regexp.MustCompile(`[, ]+`)

// Command validates spec against the server's policy and returns the spark-submit argument
// vector for the application tagged tag. Its errors are client errors (errkind.Invalid).
func (l *Launcher) Command(spec *Spec, tag string) ([]string, error) {
	var blocked []string
	for k := range spec.Conf {
		if slices.Contains(l.cfg.ConfBlacklist, k) || strings.HasPrefix(k, "spark.sparkgate.") {
			blocked = append(blocked, k)
		}
	}
	if len(blocked) > 0 {
		sort.Strings(blocked)
		return nil, errkind.Invalidf("Blacklisted configuration values in session config: %s", strings.Join(blocked, ", "))
	}
	if strings.HasPrefix(l.cfg.Master, "spark://") && l.cfg.DeployMode == "cluster" && !spec.ServerFile &&
		(strings.HasSuffix(spec.File, ".py") || len(spec.PyFiles) > 0) {
		// Spark's own rule; refused here so that the client gets a 400, not a dead batch.
		return nil, errkind.Invalidf("Spark standalone runs no Python application in cluster deploy mode; "+
			"this gateway submits to %s in cluster mode: submit a JVM application, or use a gateway in client mode", l.cfg.Master)
	}
	file := spec.File
	if !spec.ServerFile {
		var err error
		if file, err = l.Resolve("file", spec.File); err != nil {
			return nil, err
		}
	}
	conf := map[string]string{}
	for k, v := range spec.Conf {
		conf[k] = v
	}
	archivesKey := "spark.archives"
	if strings.HasPrefix(l.cfg.Master, "yarn") {
		archivesKey = "spark.yarn.dist.archives"
	}
	for key, fromRequest := range map[string][]string{
		"spark.jars": spec.Jars, "spark.files": spec.Files, "spark.submit.pyFiles": spec.PyFiles, archivesKey: spec.Archives,
	} {
		if len(fromRequest) > 0 {
			conf[key] = strings.Join(append(slices.Clone(fromRequest), conf[key]), ",")
		}
	}
	for _, key := range fileListConfs {
		v, ok := conf[key]
		if !ok {
			continue
		}
		var resolved []string
		for _, item := range listSeparator.Split(v, -1) {
			if item == "" {
				continue
			}
			r, err := l.Resolve(key, item)
			if err != nil {
				return nil, err
			}
			resolved = append(resolved, r)
		}
		conf[key] = strings.Join(resolved, ",")
		if len(resolved) == 0 {
			delete(conf, key)
		}
	}
	// Resource fields win over the same keys in conf, as in Livy.
	setIf := func(key, v string) {
		if v != "" {
			conf[key] = v
		}
	}
	setIf("spark.driver.memory", spec.DriverMemory)
	setIf("spark.executor.memory", spec.ExecutorMemory)
	for key, v := range map[string]*int{"spark.driver.cores": spec.DriverCores, "spark.executor.cores": spec.ExecutorCores, "spark.executor.instances": spec.NumExecutors} {
		if v != nil {
			conf[key] = strconv.Itoa(*v)
		}
	}
	conf[TagConf] = tag
	switch {
	case strings.HasPrefix(l.cfg.Master, "yarn"):
		conf["spark.yarn.tags"] = strings.Trim(l.cfg.ClusterTag+","+tag+","+conf["spark.yarn.tags"], ",")
		if _, set := conf[yarnConnectWait]; !set && l.cfg.SubmitWait > 0 {
			// an RM down at submit delays the application; Hadoop's client keeps trying
			conf[yarnConnectWait] = strconv.FormatInt(l.cfg.SubmitWait.Milliseconds(), 10)
		}
		if l.deployMode(spec) == "cluster" {
			// spark-submit lets go once YARN accepted the application: no JVM per application
			// here; the RM is asked how it goes (package yarn)
			conf["spark.yarn.submit.waitAppCompletion"] = "false"
		}
	case strings.HasPrefix(l.cfg.Master, "k8s://"):
		conf["spark.kubernetes.driver.label.sparkgate-tag"] = tag
	}
	pyFiles := conf["spark.submit.pyFiles"]
	delete(conf, "spark.submit.pyFiles")

	argv := []string{l.SparkSubmit(), "--master=" + l.cfg.Master}
	if mode := l.deployMode(spec); mode != "" {
		argv = append(argv, "--deploy-mode="+mode)
	}
	if spec.Name != "" {
		argv = append(argv, "--name="+spec.Name)
	}
	if spec.ClassName != "" {
		argv = append(argv, "--class="+spec.ClassName)
	}
	keys := make([]string, 0, len(conf))
	for k := range conf {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		argv = append(argv, "--conf="+k+"="+conf[k])
	}
	if pyFiles != "" {
		argv = append(argv, "--py-files="+pyFiles)
	}
	if spec.ProxyUser != "" && l.cfg.Impersonation {
		argv = append(argv, "--proxy-user="+spec.ProxyUser)
	}
	if spec.Queue != "" {
		argv = append(argv, "--queue="+spec.Queue)
	}
	argv = append(argv, file)
	return append(argv, spec.Args...), nil
}

// ClusterMode reports whether argv, a command of Command's, submits in cluster deploy mode.
func ClusterMode(argv []string) bool { return slices.Contains(argv, "--deploy-mode=cluster") }

// Resolve applies the path policy to one file reference: a path without a scheme must be
// absolute; a local one (no scheme, file: or local:) must lie, once made clean and its
// symlinks resolved, under a whitelisted directory. Remote schemes pass unchanged.
func (l *Launcher) Resolve(field, ref string) (string, error) {
	if strings.ContainsAny(ref, "\x00\n\r") {
		return "", errkind.Invalidf("%s: %q is not a valid path or URI", field, ref)
	}
	u, err := url.Parse(ref)
	if err != nil {
		return "", errkind.Invalidf("%s: %q is not a valid path or URI: %v", field, ref, err)
	}
	var path, scheme string
	switch u.Scheme {
	case "":
		if !strings.HasPrefix(ref, "/") {
			return "", errkind.Invalidf("%s: Path '%s' is not absolute.", field, ref)
		}
		path = ref
	case "file", "local":
		if u.Host != "" && u.Host != "localhost" {
			return "", errkind.Invalidf("%s: %q names a host; a local file URI is file:///absolute/path", field, ref)
		}
		path, scheme = u.Path, u.Scheme+":"
		if u.Opaque != "" {
			path = u.Opaque
		}
		if !strings.HasPrefix(path, "/") {
			return "", errkind.Invalidf("%s: Path '%s' is not absolute.", field, ref)
		}
	default:
		return ref, nil
	}
	resolved := resolveExisting(filepath.Clean(path))
	for _, dir := range l.whitelist {
		if resolved == dir || strings.HasPrefix(resolved, dir+"/") || dir == "/" {
			return scheme + resolved, nil
		}
	}
	if len(l.whitelist) == 0 {
		return "", errkind.Invalidf("%s: Local path %s cannot be added to user sessions: local files are refused until the server lists their directory in --local-dir-whitelist (or use a remote URI such as hdfs:// or s3a://)", field, path)
	}
	return "", errkind.Invalidf("%s: Local path %s cannot be added to user sessions: it is not under a directory of --local-dir-whitelist", field, path)
}

// resolveExisting resolves the symlinks of the longest existing ancestor of a clean absolute
// path and appends the rest, so that a path through a link is judged by where it leads.
func resolveExisting(p string) string {
	rest := ""
	for cur := p; ; {
		if r, err := filepath.EvalSymlinks(cur); err == nil {
			return filepath.Join(r, rest)
		}
		parent := filepath.Dir(cur)
		if parent == cur {
			return p
		}
		rest = filepath.Join(filepath.Base(cur), rest)
		cur = parent
	}
}
