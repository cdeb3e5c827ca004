package standalone

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// CreateRequest is the REST submission server's CreateSubmissionRequest: what spark-submit
// itself sends in standalone cluster mode.
type CreateRequest struct {
	Action               string            `json:"action"`
	AppResource          string            `json:"appResource"`
	MainClass            string            `json:"mainClass"`
	AppArgs              []string          `json:"appArgs"`
	ClientSparkVersion   string            `json:"clientSparkVersion"`
	EnvironmentVariables map[string]string `json:"environmentVariables"`
	SparkProperties      map[string]string `json:"sparkProperties"`
}

// RequestOf turns a cluster-mode spark-submit command of the launcher's (every option as
// --name=value, then the application's file and arguments) into the REST request spark-submit
// would send: spark-defaults.conf's properties (defaults, may be nil) overlaid with the
// command's.
func RequestOf(argv []string, defaults map[string]string, sparkVersion string) (*CreateRequest, error) {
	props := map[string]string{}
	for k, v := range defaults {
		props[k] = v
	}
	req := &CreateRequest{Action: "CreateSubmissionRequest", ClientSparkVersion: sparkVersion, AppArgs: []string{},
		EnvironmentVariables: map[string]string{"SPARK_ENV_LOADED": "1"}}
	rest := argv[1:] // argv[0] is spark-submit
	for len(rest) > 0 && strings.HasPrefix(rest[0], "--") {
		name, value, _ := strings.Cut(strings.TrimPrefix(rest[0], "--"), "=")
		rest = rest[1:]
		switch name {
		case "master":
			props["spark.master"] = value
		case "deploy-mode":
			props["spark.submit.deployMode"] = value
		case "name":
			props["spark.app.name"] = value
		case "class":
			req.MainClass = value
		case "conf":
			k, v, _ := strings.Cut(value, "=")
			props[k] = v
		case "properties-file":
		case "queue": // YARN's; spark-submit ignores it on standalone too
		default:
			return nil, fmt.Errorf("spark standalone cluster mode: the REST submission has no --%s", name)
		}
	}
	if len(rest) == 0 {
		return nil, errors.New("spark standalone cluster mode: no application file")
	}
	if req.MainClass == "" {
		return nil, errors.New("spark standalone cluster mode needs the application's main class (className)")
	}
	req.AppResource = asURI(rest[0])
	req.AppArgs = append(req.AppArgs, rest[1:]...)
	// As spark-submit does: the application's jar is one of its jars.
	jars := []string{req.AppResource}
	for _, j := range strings.Split(props["spark.jars"], ",") {
		if j = strings.TrimSpace(j); j != "" && asURI(j) != req.AppResource {
			jars = append(jars, asURI(j))
		}
	}
	props["spark.jars"] = strings.Join(jars, ",")
	if _, set := props["spark.driver.supervise"]; !set {
		props["spark.driver.supervise"] = "false"
	}
	if props["spark.app.name"] == "" {
		props["spark.app.name"] = req.MainClass // spark-submit's default; Spark 3.5's server requires one
	}
	if _, set := props[driverDefaultJavaOptions]; moduleOptionsNeeded(set, sparkVersion) {
		props[driverDefaultJavaOptions] = javaModuleOptions
	}
	req.SparkProperties = props
	return req, nil
}

const driverDefaultJavaOptions = "spark.driver.defaultJavaOptions"

// moduleOptionsNeeded reports whether a cluster-mode driver of Spark sparkVersion is to be given
// javaModuleOptions, unless its settings set driverDefaultJavaOptions: Spark 3's Worker starts
// the driver without the module options Java 17 needs, which spark-submit gives a JVM it starts
// itself (and Spark 4's Worker gives the driver), whether the driver came over REST or RPC.
func moduleOptionsNeeded(set bool, sparkVersion string) bool {
	return !set && strings.HasPrefix(sparkVersion, "3.")
}

// javaModuleOptions are Spark's own (org.apache.spark.launcher.JavaModuleOptions, Spark 3.3+).
const javaModuleOptions = "-XX:+IgnoreUnrecognizedVMOptions" +
	" --add-opens=java.base/java.lang=ALL-UNNAMED --add-opens=java.base/java.lang.invoke=ALL-UNNAMED" +
	" --add-opens=java.base/java.lang.reflect=ALL-UNNAMED --add-opens=java.base/java.io=ALL-UNNAMED" +
	" --add-opens=java.base/java.net=ALL-UNNAMED --add-opens=java.base/java.nio=ALL-UNNAMED" +
	" --add-opens=java.base/java.util=ALL-UNNAMED --add-opens=java.base/java.util.concurrent=ALL-UNNAMED" +
	" --add-opens=java.base/java.util.concurrent.atomic=ALL-UNNAMED --add-opens=java.base/jdk.internal.ref=ALL-UNNAMED" +
	" --add-opens=java.base/sun.nio.ch=ALL-UNNAMED --add-opens=java.base/sun.nio.cs=ALL-UNNAMED" +
	" --add-opens=java.base/sun.security.action=ALL-UNNAMED --add-opens=java.base/sun.util.calendar=ALL-UNNAMED" +
	" -Djdk.reflect.useDirectMethodHandle=false"

// asURI makes a local path a file: URI, which the Worker downloads the jar from.
func asURI(ref string) string {
	if strings.HasPrefix(ref, "/") {
		return "file:" + ref
	}
	return ref
}

// ReadDefaults reads spark-defaults.conf in confDir, as spark-submit would ("key value" or
// "key=value" lines, # comments); nil when there is none.
func ReadDefaults(confDir string) (map[string]string, error) {
	if confDir == "" {
		return nil, nil
	}
	b, err := os.ReadFile(filepath.Join(confDir, "spark-defaults.conf"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	props := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.IndexAny(line, " \t=:")
		if i < 0 {
			props[line] = ""
			continue
		}
		props[line[:i]] = strings.TrimLeft(strings.TrimSpace(line[i:]), "=: \t")
	}
	return props, sc.Err()
}

var sparkCoreJar = regexp.MustCompile(`^spark-core_[0-9.]+-([0-9][0-9A-Za-z.-]*)\.jar$`)

// SparkVersion is the version of the Spark installation at home, from its spark-core jar
// ("3.5.0" when it cannot tell: the REST server only checks that one is given).
func SparkVersion(home string) string {
	entries, _ := os.ReadDir(filepath.Join(home, "jars"))
	var found []string
	for _, e := range entries {
		if m := sparkCoreJar.FindStringSubmatch(e.Name()); m != nil {
			found = append(found, m[1])
		}
	}
	if len(found) == 0 {
		return "3.5.0"
	}
	sort.Strings(found)
	return found[len(found)-1]
}

func jsonOf(req *CreateRequest) ([]byte, error) { return json.MarshalIndent(req, "", "  ") }
