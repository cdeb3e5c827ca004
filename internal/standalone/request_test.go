package standalone

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRequestOfIsWhatSparkSubmitWouldSend(t *testing.T) {
	defaults := map[string]string{"spark.executor.memory": "2g", "spark.eventLog.enabled": "true"}
	cases := []struct {
		name    string
		version string
		argv    []string
		check   func(t *testing.T, r *CreateRequest)
		problem string
	}{
		{name: "a jar with its class, conf and arguments",
			argv: []string{"spark-submit", "--master=spark://m:7077", "--deploy-mode=cluster", "--name=nightly", "--class=a.Main",
				"--conf=spark.executor.memory=1g", "--conf=spark.jars=/jobs/dep.jar,hdfs:///lib/x.jar", "--conf=spark.sparkgate.tag=sparkgate-batch-1-x",
				"/jobs/app.jar", "--flag", "-5"},
			check: func(t *testing.T, r *CreateRequest) {
				p := r.SparkProperties
				if r.MainClass != "a.Main" || r.AppResource != "file:/jobs/app.jar" || strings.Join(r.AppArgs, " ") != "--flag -5" {
					t.Errorf("class %q, resource %q, args %q", r.MainClass, r.AppResource, r.AppArgs)
				}
				if p["spark.master"] != "spark://m:7077" || p["spark.submit.deployMode"] != "cluster" || p["spark.app.name"] != "nightly" ||
					p["spark.sparkgate.tag"] != "sparkgate-batch-1-x" || p["spark.driver.supervise"] != "false" {
					t.Errorf("properties %v", p)
				}
				if _, set := p[driverDefaultJavaOptions]; set {
					t.Errorf("Spark 4's Worker gives the driver Java's module options itself: %v", p)
				}
				if p["spark.executor.memory"] != "1g" || p["spark.eventLog.enabled"] != "true" {
					t.Errorf("the command's conf must win over spark-defaults.conf, which still counts: %v", p)
				}
				if p["spark.jars"] != "file:/jobs/app.jar,file:/jobs/dep.jar,hdfs:///lib/x.jar" {
					t.Errorf("spark.jars = %q; the application's jar comes first", p["spark.jars"])
				}
			}},
		{name: "a remote jar stays as given, named after its class",
			argv: []string{"spark-submit", "--class=M", "hdfs:///apps/app.jar"},
			check: func(t *testing.T, r *CreateRequest) {
				if r.AppResource != "hdfs:///apps/app.jar" || r.SparkProperties["spark.jars"] != "hdfs:///apps/app.jar" ||
					r.SparkProperties["spark.app.name"] != "M" {
					t.Errorf("%+v", r)
				}
			}},
		{name: "Spark 3 drivers get Java's module options", version: "3.5.9",
			argv: []string{"spark-submit", "--class=M", "/jobs/app.jar"},
			check: func(t *testing.T, r *CreateRequest) {
				if !strings.Contains(r.SparkProperties[driverDefaultJavaOptions], "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED") {
					t.Errorf("%v", r.SparkProperties)
				}
			}},
		{name: "no class", argv: []string{"spark-submit", "/jobs/app.jar"}, problem: "main class"},
		{name: "no file", argv: []string{"spark-submit", "--class=M"}, problem: "no application file"},
		{name: "python files", argv: []string{"spark-submit", "--class=M", "--py-files=/a.py", "/jobs/app.jar"}, problem: "--py-files"},
		{name: "a proxy user", argv: []string{"spark-submit", "--class=M", "--proxy-user=bob", "/jobs/app.jar"}, problem: "--proxy-user"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			version := c.version
			if version == "" {
				version = "4.3.0"
			}
			r, err := RequestOf(c.argv, defaults, version)
			if c.problem != "" {
				if err == nil || !strings.Contains(err.Error(), c.problem) {
					t.Fatalf("error %v, want one about %q", err, c.problem)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if r.Action != "CreateSubmissionRequest" || r.ClientSparkVersion != version || r.EnvironmentVariables["SPARK_ENV_LOADED"] != "1" {
				t.Errorf("envelope %+v", r)
			}
			c.check(t, r)
		})
	}
}

func TestReadDefaultsReadsSparkDefaultsConfAsSparkDoes(t *testing.T) {
	dir := t.TempDir()
	content := "# comment\nspark.a  1\nspark.b=2\nspark.c\t x y \n\nspark.d: 4\n"
	if err := os.WriteFile(filepath.Join(dir, "spark-defaults.conf"), []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := ReadDefaults(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"spark.a": "1", "spark.b": "2", "spark.c": "x y", "spark.d": "4"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q (all: %v)", k, got[k], v, got)
		}
	}
	if none, err := ReadDefaults(t.TempDir()); err != nil || none != nil {
		t.Errorf("no file: %v, %v", none, err)
	}
}

func TestSparkVersionIsTheSparkCoreJars(t *testing.T) {
	home := t.TempDir()
	os.MkdirAll(filepath.Join(home, "jars"), 0o750)
	if v := SparkVersion(home); v != "3.5.0" {
		t.Errorf("no jars: %q", v)
	}
	os.WriteFile(filepath.Join(home, "jars", "spark-core_2.13-4.3.0.jar"), nil, 0o600)
	if v := SparkVersion(home); v != "4.3.0" {
		t.Errorf("SparkVersion = %q", v)
	}
}
