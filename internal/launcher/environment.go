package launcher

import (
	"path"
	"slices"
	"strings"
)

// DefaultAppEnv are the environment variables (path.Match patterns) of the gateway that its
// applications get: what Spark, Hadoop, Python and Kerberos read, and the basics of a
// process. Anything else the gateway was started with — the store's DSN and password, a
// cloud's keys, SPARKGATE_* settings — stays out of the reach of user code, which can print
// its environment.
var DefaultAppEnv = []string{
	"PATH", "HOME", "USER", "LOGNAME", "SHELL", "LANG", "LANGUAGE", "LC_*", "TZ", "TMPDIR", "TEMP", "TMP",
	"JAVA_HOME", "LD_LIBRARY_PATH",
	"SPARK_*", "PYSPARK_*", "HADOOP_*", "YARN_*", "HDFS_*", "HIVE_*",
	"PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "CONDA_*",
	"KRB5_CONFIG", "KRB5CCNAME",
	"GORACE", // the race detector's settings, for the supervisor of a race build (tests)
}

// AppEnvironment is the part of environ (KEY=value entries) that applications get: the
// names DefaultAppEnv and extra (patterns too) allow.
func AppEnvironment(environ, extra []string) []string {
	allowed := append(slices.Clone(DefaultAppEnv), extra...)
	var out []string
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		if slices.ContainsFunc(allowed, func(p string) bool { ok, _ := path.Match(p, name); return ok }) {
			out = append(out, kv)
		}
	}
	return out
}
