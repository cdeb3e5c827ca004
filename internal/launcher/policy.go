package launcher

// The submission policy: what a session's settings become on spark-submit's command line, and
// which files a user may name (the local-path whitelist, the conf blacklist).

import (
	"net/url"
	"path"
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

// RestrictedConf are the conf keys (path.Match patterns) that let a user run a program, load
// code or read a file of the host that runs spark-submit and, in local and client mode, the
// driver, as the gateway's OS user — besides the application's own code: JVM options
// (-XX:OnOutOfMemoryError=…), class and library paths, the Python or R executable, keytabs,
// resource discovery scripts. They are refused unless the operator opens them
// (Config.ConfAllowed; Livy's livy.server.session.allow-custom-classpath, Kyuubi's
// restricted lists).
var RestrictedConf = []string{
	"spark.driver.extraJavaOptions", "spark.executor.extraJavaOptions", "spark.yarn.am.extraJavaOptions",
	"spark.driver.defaultJavaOptions", "spark.executor.defaultJavaOptions",
	"spark.driver.extraClassPath", "spark.executor.extraClassPath",
	"spark.driver.extraLibraryPath", "spark.executor.extraLibraryPath", "spark.yarn.am.extraLibraryPath",
	"spark.pyspark.python", "spark.pyspark.driver.python", "spark.r.command", "spark.r.driver.command",
	"spark.kerberos.keytab", "spark.yarn.keytab", "spark.kerberos.principal", "spark.yarn.principal",
	"spark.driver.resource.*.discoveryScript", "spark.executor.resource.*.discoveryScript",
	"spark.driver.userClassPathFirst", "spark.executor.userClassPathFirst",
}

// PlacementConf are the conf keys (path.Match patterns) that choose where, and as whom, an
// application runs in the cluster rather than what it computes: on Kubernetes the namespace,
// the service account, pod templates and volumes (a hostPath mount of the node's /). They are
// the operator's, refused from users unless opened (Config.ConfAllowed), whatever the master:
// a request that names them against another master has no business with them either.
var PlacementConf = []string{"spark.kubernetes.*"}

// pathConfs are the conf keys whose value is one local path, or a list of them (separator),
// each of which passes the path policy (when the key is open to users at all).
var pathConfs = map[string]string{
	"spark.jars.ivySettings": "", "spark.kerberos.keytab": "", "spark.yarn.keytab": "",
	"spark.driver.extraClassPath": ":", "spark.executor.extraClassPath": ":",
	"spark.driver.extraLibraryPath": ":", "spark.executor.extraLibraryPath": ":",
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
	if restricted := l.restricted(RestrictedConf, spec.Conf); len(restricted) > 0 {
		return nil, errkind.Invalidf("conf %s would let the application run a program or read a file of this host as the gateway: refused unless the server opens it with --spark-conf-allowed",
			strings.Join(restricted, ", "))
	}
	if placed := l.restricted(PlacementConf, spec.Conf); len(placed) > 0 {
		return nil, errkind.Invalidf("conf %s chooses where and as whom the application runs in the cluster (namespace, service account, pod template, volumes), which the operator sets: refused unless the server opens it with --spark-conf-allowed",
			strings.Join(placed, ", "))
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
	for key, sep := range pathConfs {
		v, ok := conf[key]
		if !ok {
			continue
		}
		parts := []string{v}
		if sep != "" {
			parts = strings.Split(v, sep)
		}
		for i, p := range parts {
			r, err := l.Resolve(key, p)
			if err != nil {
				return nil, err
			}
			if u, err := url.Parse(r); err == nil && u.Scheme == "file" {
				r = u.Path // these keys take paths, not URIs
			}
			parts[i] = r
		}
		conf[key] = strings.Join(parts, sep)
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

// Resolve checks a path-bearing value against the local-path whitelist, judging the file
// Spark will read: the path decoded as Spark decodes it, cleaned, its symlinks followed. A
// local file comes back in a form Spark reads one way only: a plain absolute path when the
// value has nothing Spark would decode, else a file: (or local:) URI re-encoded from the
// checked path. A remote URI (hdfs://, s3a://, …) comes back as it is.
func (l *Launcher) Resolve(field, ref string) (string, error) {
	if strings.ContainsAny(ref, "\x00\n\r") {
		return "", errkind.Invalidf("%s: %q is not a valid path or URI", field, ref)
	}
	u, err := url.Parse(ref)
	if err != nil {
		return "", errkind.Invalidf("%s: %q is not a valid path or URI: %v", field, ref, err)
	}
	local := &url.URL{Scheme: u.Scheme, Fragment: u.Fragment}
	switch u.Scheme {
	case "":
		if !strings.HasPrefix(ref, "/") {
			return "", errkind.Invalidf("%s: Path '%s' is not absolute.", field, ref)
		}
		if strings.ContainsAny(ref, "%?") {
			// Spark decodes a bare path's escapes when it has a fragment, and not otherwise:
			// which file it reads would depend on the rest of the value
			return "", errkind.Invalidf("%s: %q has %% or ?, which Spark reads in more than one way: write it as a file: URI", field, ref)
		}
		local.Scheme, local.Path = "file", u.Path
	case "file", "local":
		if u.Host != "" && u.Host != "localhost" {
			return "", errkind.Invalidf("%s: %q names a host; a local file URI is file:///absolute/path", field, ref)
		}
		local.Path = u.Path
		if u.Opaque != "" {
			local.Path = u.Opaque
		}
		if !strings.HasPrefix(local.Path, "/") {
			return "", errkind.Invalidf("%s: Path '%s' is not absolute.", field, ref)
		}
		if u.RawQuery != "" || u.ForceQuery {
			return "", errkind.Invalidf("%s: %q has a query, which a local file has not", field, ref)
		}
	default:
		return ref, nil
	}
	if f := local.Fragment; f != "" && (strings.ContainsAny(f, "/\\") || f == "." || f == "..") {
		return "", errkind.Invalidf("%s: %q: the name after # is what the file is called in the application's directory, a plain file name", field, ref)
	}
	resolved := resolveExisting(filepath.Clean(local.Path))
	if !l.whitelisted(resolved) {
		if len(l.whitelist) == 0 {
			return "", errkind.Invalidf("%s: Local path %s cannot be added to user sessions: local files are refused until the server lists their directory in --local-dir-whitelist (or use a remote URI such as hdfs:// or s3a://)", field, local.Path)
		}
		return "", errkind.Invalidf("%s: Local path %s cannot be added to user sessions: it is not under a directory of --local-dir-whitelist", field, local.Path)
	}
	if u.Scheme == "" && local.Fragment == "" {
		return resolved, nil
	}
	local.Path = resolved
	return local.String(), nil
}

// restricted lists the keys of conf that RestrictedConf names and the operator did not open.
// restricted lists, sorted, the keys of conf that match one of patterns and that the operator
// did not open.
func (l *Launcher) restricted(patterns []string, conf map[string]string) []string {
	matches := func(patterns []string, key string) bool {
		return slices.ContainsFunc(patterns, func(p string) bool { ok, _ := path.Match(p, key); return ok })
	}
	var out []string
	for k := range conf {
		if matches(patterns, k) && !matches(l.cfg.ConfAllowed, k) {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

func (l *Launcher) whitelisted(path string) bool {
	for _, dir := range l.whitelist {
		if path == dir || strings.HasPrefix(path, dir+"/") || dir == "/" {
			return true
		}
	}
	return false
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
