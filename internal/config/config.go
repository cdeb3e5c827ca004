// Package config owns the server's settings: their defaults, and how a config file, SPARKGATE_*
// environment variables and command-line flags override them, in that order. One name serves
// all three: the flag --data-dir is the file key data-dir and the variable SPARKGATE_DATA_DIR.
package config

import (
	"bufio"
	"cmp"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/sparkgate/sparkgate/internal/launcher"
	"github.com/sparkgate/sparkgate/internal/livy"
	"github.com/sparkgate/sparkgate/internal/yarn"
)

// Config is every setting of "sparkgate serve".
type Config struct {
	ConfigFile string
	LivyConf   string
	// Notes are what the operator should read at start: the settings of livy.conf that have
	// no meaning here.
	Notes              []string
	Addr               string
	AdvertiseAddr      string
	DebugAddr          string
	MetricsAddr        string
	DataDir            string
	Store              string
	InstanceID         string
	DriverURL          string
	Lease              time.Duration
	SparkHome          string
	SparkMaster        string
	DeployMode         string
	YarnRMURL          string
	RedactionRegex     string
	StandaloneRESTURLs []string
	StandaloneWebURLs  []string
	// StandaloneRESTSecretFile holds the key of the Masters' JWSFilter (base64url), with which
	// requests to their REST servers are signed.
	StandaloneRESTSecretFile string
	ClusterSubmitWait        time.Duration
	ClusterPollInterval      time.Duration
	ClusterTag               string
	LeakCheckInterval        time.Duration
	LeakCheckGrace           time.Duration
	LocalDirWhitelist        []string
	ConfBlacklist            []string
	ConfAllowed              []string
	AppEnv                   []string
	AppUser                  string
	StorePasswordFile        string
	MaxConcurrentLaunches    int
	LaunchTimeout            time.Duration
	RetainFinished           time.Duration
	KillGrace                time.Duration
	IdempotencyRetention     time.Duration
	ReservationTTL           time.Duration
	Impersonation            bool
	MaxBodyBytes             int64
	MaxUploadBytes           int64
	SessionIdleTimeout       time.Duration
	SessionTTL               time.Duration
	DriverGatewayTimeout     time.Duration
	CSRFProtection           bool
	AllowedHosts             []string
	MaxConnections           int
	ShutdownDrain            time.Duration
	MaxRequestsPerUser       int
	Bounds                   Bounds
	LaunchKerberos           LaunchKerberos
	Auth                     Auth
	Access                   Access
	TLS                      TLS
	LogFormat                string
	LogLevel                 string
}

// listFlag is a comma-separated list.
type listFlag struct{ v *[]string }

func (l listFlag) String() string {
	if l.v == nil {
		return ""
	}
	return strings.Join(*l.v, ",")
}

func (l listFlag) Set(s string) error {
	*l.v = nil
	for _, part := range strings.Split(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			*l.v = append(*l.v, part)
		}
	}
	return nil
}

// FlagSet declares every setting on a flag set bound to c, with its default.
func (c *Config) FlagSet(out io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("sparkgate serve", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.StringVar(&c.ConfigFile, "config", "", "read settings from this file (lines of key = value, keys named as these flags)")
	fs.StringVar(&c.LivyConf, "livy-conf", "", "read Apache Livy's livy.conf (default: $LIVY_CONF_DIR/livy.conf when present), and spark-blacklist.conf beside it; every other source of settings overrides it")
	fs.StringVar(&c.Addr, "addr", "127.0.0.1:8998", "address to serve Livy's REST API on")
	fs.StringVar(&c.AdvertiseAddr, "advertise-addr", "", "host:port by which peers forward calls to this instance and drivers reach it (a host alone takes --addr's port; default: --addr, or this host's name and --addr's port when --addr is every interface, such as 0.0.0.0:8998); Livy's livy.rsc.launcher.address")
	fs.StringVar(&c.DebugAddr, "debug-addr", "", "address of a separate listener for Go's pprof profiles (empty: none)")
	fs.StringVar(&c.MetricsAddr, "metrics-addr", "", "address of a listener of its own for /metrics, without authentication, for a Prometheus on a private network (empty: /metrics on --addr, behind --auth)")
	fs.StringVar(&c.DataDir, "data-dir", "./data", "directory of the session store and the applications' logs")
	fs.StringVar(&c.Store, "store", "", "session store: empty for the embedded store in --data-dir, or a postgres:// URL shared by several instances")
	fs.StringVar(&c.InstanceID, "instance-id", "", "this server's name among instances sharing a store (default: host name and port); keep it stable across restarts")
	fs.StringVar(&c.DriverURL, "driver-url", "", "URL by which interactive sessions' drivers reach this gateway (default: http:// and --advertise-addr, https:// with --tls-cert); with several instances, the load balancer's")
	fs.DurationVar(&c.Lease, "lease", 15*time.Second, "how long this instance counts as alive after each renewal; peers adopt its unfinished sessions once it expires")
	fs.StringVar(&c.SparkHome, "spark-home", os.Getenv("SPARK_HOME"), "Spark installation whose bin/spark-submit runs applications (default $SPARK_HOME)")
	fs.StringVar(&c.SparkMaster, "spark-master", "local[*]", "Spark master applications are submitted to")
	fs.StringVar(&c.DeployMode, "spark-deploy-mode", "", "spark-submit deploy mode (client or cluster; empty: Spark's default)")
	fs.StringVar(&c.YarnRMURL, "yarn-rm-url", "", "web address of YARN's ResourceManager, whose REST API tells how applications go, with --spark-master yarn (default: yarn.resourcemanager.webapp.address in yarn-site.xml of $YARN_CONF_DIR or $HADOOP_CONF_DIR)")
	fs.Var(listFlag{&c.StandaloneRESTURLs}, "standalone-rest-url", "comma-separated REST submission servers of the Spark standalone Masters, with --spark-master spark://… and --spark-deploy-mode cluster (default: none, and drivers are submitted by spark-submit over the Masters' RPC port, which spark.authenticate protects)")
	fs.StringVar(&c.StandaloneRESTSecretFile, "standalone-rest-secret-file", "", "with --standalone-rest-url: a file holding the secret key (base64url) of the Masters' JWSFilter (Spark 4's spark.master.rest.filters), with which each request to them is signed")
	fs.Var(listFlag{&c.StandaloneWebURLs}, "standalone-web-url", "comma-separated web UIs of the Spark standalone Masters, whose /json/ page tells every driver's state (default: each master host of --spark-master at port 8080)")
	fs.DurationVar(&c.ClusterSubmitWait, "cluster-submit-wait", 15*time.Minute, "how long a submission keeps trying while the cluster manager cannot be reached (the create stays starting meanwhile); on YARN it becomes yarn.resourcemanager.connect.max-wait.ms")
	fs.DurationVar(&c.ClusterPollInterval, "cluster-poll-interval", time.Second, "how often the cluster manager is asked how the applications go (one request for all of them)")
	fs.StringVar(&c.ClusterTag, "cluster-tag", launcher.DefaultClusterTag, "tag every application of this deployment carries on the cluster manager; deployments with stores of their own that share one cluster manager need tags of their own (the leak check kills applications of its tag that its store does not know)")
	fs.DurationVar(&c.LeakCheckInterval, "leak-check-interval", time.Minute, "how often the cluster manager's applications of --cluster-tag are checked against the sessions (Livy's livy.server.yarn.app-leakage.check-interval)")
	fs.DurationVar(&c.LeakCheckGrace, "leak-check-grace", 10*time.Minute, "how long an application without a live session may run before the leak check kills it (Livy's livy.server.yarn.app-leakage.check-timeout)")
	c.LocalDirWhitelist = nil
	fs.Var(listFlag{&c.LocalDirWhitelist}, "local-dir-whitelist", "comma-separated directories whose local files may be submitted (Livy's livy.file.local-dir-whitelist); empty refuses local paths")
	c.ConfBlacklist = slices.Clone(launcher.DefaultConfBlacklist)
	fs.Var(listFlag{&c.ConfBlacklist}, "spark-conf-blacklist", "comma-separated Spark conf keys users may not set")
	fs.Var(listFlag{&c.AppEnv}, "app-env", "comma-separated environment variables (or patterns, MY_*) of the server that applications get besides Spark's, Hadoop's, Python's and Kerberos' own; the rest (the store's DSN, cloud keys) stays out of their reach")
	fs.StringVar(&c.StorePasswordFile, "store-password-file", "", "file holding the PostgreSQL password of --store, kept out of the DSN, the command line and the environment (PGPASSFILE and ~/.pgpass work too)")
	fs.Var(listFlag{&c.ConfAllowed}, "spark-conf-allowed", "comma-separated conf keys (or patterns, spark.driver.resource.*.discoveryScript) to open to users among those that let an application run a program or read a file of this host as the gateway (JVM options, class and library paths, the Python executable, keytabs …); their paths pass --local-dir-whitelist")
	fs.IntVar(&c.MaxConcurrentLaunches, "max-concurrent-launches", max(2, runtime.NumCPU()), "how many applications, batches and session drivers together, may be starting (spark-submit up to a live SparkContext) at once on this instance; more wait (batches in a durable queue)")
	fs.DurationVar(&c.LaunchTimeout, "launch-timeout", time.Minute, "longest a launch holds its slot without a sign of a SparkContext")
	fs.DurationVar(&c.RetainFinished, "retain-finished", 24*time.Hour, "how long finished batches stay listed, with their logs")
	fs.DurationVar(&c.IdempotencyRetention, "idempotency-retention", 7*24*time.Hour, "how long a PUT's requestId (or a used reserved id) answers replays with its session, even after the session was deleted or finished")
	fs.DurationVar(&c.ReservationTTL, "reservation-ttl", 24*time.Hour, "how long an id reserved by POST /{batches,sessions}/id waits for its PUT")
	fs.DurationVar(&c.KillGrace, "kill-grace", 10*time.Second, "time between SIGTERM and SIGKILL when a session is deleted")
	fs.BoolVar(&c.Impersonation, "impersonation", false, "pass proxyUser to spark-submit as --proxy-user (Livy's livy.impersonation.enabled)")
	fs.StringVar(&c.RedactionRegex, "redaction-regex", livy.DefaultRedactionRegex, "conf entries whose key or value this matches are shown redacted in session views (Spark's spark.redaction.regex)")
	fs.BoolVar(&c.CSRFProtection, "csrf-protection", false, "require the X-Requested-By header on POST, PUT and DELETE (Livy's livy.server.csrf-protection.enabled)")
	fs.Var(listFlag{&c.AllowedHosts}, "allowed-hosts", "comma-separated host names requests may address this server by (the Host header); with none, a server on loopback answers loopback names only (against DNS rebinding) and any other server every name")
	fs.DurationVar(&c.ShutdownDrain, "shutdown-drain", 0, "on SIGTERM, how long /readyz answers 503 while requests are still served, before the server stops taking them (behind a load balancer: longer than its health-check interval)")
	fs.IntVar(&c.MaxConnections, "max-connections", 10000, "open connections at most; over it, the one waiting longest without a request (silent, or idle) is closed")
	fs.IntVar(&c.MaxRequestsPerUser, "max-requests-per-user", 256, "requests one user (an anonymous client: one address) may have under way at once; more get 429")
	appUserFlag(fs, &c.AppUser)
	c.Bounds.flags(fs)
	c.LaunchKerberos.flags(fs)
	c.Auth.flags(fs)
	c.Access.flags(fs)
	c.TLS.flags(fs)
	fs.Int64Var(&c.MaxBodyBytes, "max-body-bytes", 1<<20, "largest request body accepted; larger ones get 413")
	fs.Int64Var(&c.MaxUploadBytes, "max-upload-bytes", 512<<20, "largest file accepted by a session's upload-jar, upload-pyfile and upload-file")
	fs.DurationVar(&c.SessionIdleTimeout, "session-idle-timeout", time.Hour, "delete an interactive session idle this long (0: never); a session's idleTimeout overrides it")
	fs.DurationVar(&c.SessionTTL, "session-ttl", 0, "delete an interactive session this long after its creation (0: never); a session's ttl overrides it")
	fs.DurationVar(&c.DriverGatewayTimeout, "driver-gateway-timeout", 15*time.Minute, "how long an interactive session's driver keeps trying to reach a gateway that does not answer before it exits (Livy's livy.rsc.server.idle-timeout); longer than any restart or failover")
	fs.StringVar(&c.LogFormat, "log-format", "text", "log format: text or json")
	fs.StringVar(&c.LogLevel, "log-level", "info", "log level: debug, info, warn or error")
	return fs
}

// Load builds the configuration from defaults, then the config file, then the environment,
// then args, and validates it.
func Load(args []string, getenv func(string) string, out io.Writer) (*Config, error) {
	c := &Config{}
	fs := c.FlagSet(out)
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	fromFlags := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { fromFlags[f.Name] = true })
	file := c.ConfigFile
	if file == "" {
		file = getenv("SPARKGATE_CONFIG")
	}
	var settings [][2]string
	fromFile := map[string]bool{}
	if file != "" {
		var err error
		if settings, err = readFile(file); err != nil {
			return nil, err
		}
		for _, kv := range settings {
			fromFile[kv[0]] = true
		}
	}
	// livy.conf first: sparkgate's own file, the environment and the flags override it
	livyConf := c.LivyConf
	if !fromFlags["livy-conf"] {
		livyConf = cmp.Or(getenv(envName("livy-conf")), fromFileValue(settings, "livy-conf"))
	}
	livyBlacklist, err := c.readLivy(fs, livyConfPath(livyConf, getenv), func(key string) bool {
		return fromFlags[key] || fromFile[key] || getenv(envName(key)) != ""
	})
	if err != nil {
		return nil, err
	}
	for _, kv := range settings {
		if fromFlags[kv[0]] || getenv(envName(kv[0])) != "" {
			continue
		}
		if err := setting(fs, kv[0], kv[1], "config file "+file); err != nil {
			return nil, err
		}
	}
	var envErr error
	fs.VisitAll(func(f *flag.Flag) {
		if v := getenv(envName(f.Name)); v != "" && !fromFlags[f.Name] && envErr == nil {
			envErr = setting(fs, f.Name, v, "environment variable "+envName(f.Name))
		}
	})
	if envErr != nil {
		return nil, envErr
	}
	for _, key := range livyBlacklist {
		if !slices.Contains(c.ConfBlacklist, key) {
			c.ConfBlacklist = append(c.ConfBlacklist, key)
		}
	}
	c.derive()
	if c.SparkMaster == "yarn" && c.YarnRMURL == "" {
		rm, err := yarn.WebAddress(getenv)
		if err != nil {
			return nil, fmt.Errorf("spark-master yarn: where is the ResourceManager? %w", err)
		}
		c.YarnRMURL = rm
	}
	return c, c.Validate()
}

// derive fills the settings whose defaults follow from others, once every source was read.
func (c *Config) derive() {
	if c.InstanceID == "" {
		host, _ := os.Hostname()
		_, port, _ := net.SplitHostPort(c.Addr)
		c.InstanceID = host + "-" + port
	}
	host, _ := os.Hostname()
	c.AdvertiseAddr = advertisedAddr(c.Addr, c.AdvertiseAddr, host)
	if c.DriverURL == "" {
		c.DriverURL = "http://" + c.AdvertiseAddr
		if c.TLS.On() {
			c.DriverURL = "https://" + c.AdvertiseAddr
		}
	}
	if hosts, ok := strings.CutPrefix(c.SparkMaster, "spark://"); ok && c.DeployMode == "cluster" && len(c.StandaloneWebURLs) == 0 {
		for _, hostPort := range strings.Split(hosts, ",") {
			host, _, err := net.SplitHostPort(hostPort)
			if err != nil {
				host = hostPort
			}
			c.StandaloneWebURLs = append(c.StandaloneWebURLs, "http://"+net.JoinHostPort(host, "8080"))
		}
	}
}

func envName(flagName string) string {
	return "SPARKGATE_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

func setting(fs *flag.FlagSet, key, value, source string) error {
	if fs.Lookup(key) == nil {
		return fmt.Errorf("%s: unknown setting %q", source, key)
	}
	if err := fs.Set(key, value); err != nil {
		return fmt.Errorf("%s: %s: %w", source, key, err)
	}
	return nil
}

func readFile(path string) ([][2]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("config file: %w", err)
	}
	defer f.Close()
	var out [][2]string
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			return nil, fmt.Errorf("config file %s:%d: expected key = value", path, n)
		}
		out = append(out, [2]string{strings.TrimSpace(k), strings.TrimSpace(v)})
	}
	return out, sc.Err()
}

// masterURL matches the master URLs spark-submit takes (as Livy's livy.spark.master).
var masterURL = regexp.MustCompile(`^(local(\[(\*|[1-9][0-9]*)(,[0-9]+)?\])?|local-cluster\[[0-9]+,[0-9]+,[0-9]+\]|spark://[^/\s]+(,[^/\s]+)*|yarn|k8s://\S+)$`)

// clusterTag is a tag YARN keeps as given (it lower-cases tags) and that no application's own
// tag can be.
var clusterTag = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,63}$`)

// Validate checks the settings and says precisely what is wrong.
func (c *Config) Validate() error {
	var errs []error
	if c.Addr == "" {
		errs = append(errs, errors.New("addr must not be empty"))
	}
	if c.DataDir == "" {
		errs = append(errs, errors.New("data-dir must not be empty"))
	}
	if note, err := checkAdvertised(c.AdvertiseAddr, c.Store != ""); err != nil {
		errs = append(errs, err)
	} else if note != "" && !slices.Contains(c.Notes, note) {
		c.Notes = append(c.Notes, note)
	}
	if c.Store != "" && !strings.HasPrefix(c.Store, "postgres://") && !strings.HasPrefix(c.Store, "postgresql://") {
		errs = append(errs, fmt.Errorf("store must be empty (embedded) or a postgres:// URL, not %q", redactURL(c.Store)))
	}
	if !masterURL.MatchString(c.SparkMaster) {
		errs = append(errs, fmt.Errorf("spark-master %q is not a master sparkgate can submit to: local, local[N], local[*], spark://host:port[,host2:port2], yarn or k8s://https://host:port", c.SparkMaster))
	}
	if c.DeployMode != "" && c.DeployMode != "client" && c.DeployMode != "cluster" {
		errs = append(errs, fmt.Errorf("spark-deploy-mode must be client or cluster, not %q", c.DeployMode))
	}
	if u, err := url.Parse(c.YarnRMURL); c.YarnRMURL != "" && (err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "") {
		errs = append(errs, fmt.Errorf("yarn-rm-url must be an http:// or https:// address, not %q", c.YarnRMURL))
	}
	for _, u := range append(slices.Clone(c.StandaloneRESTURLs), c.StandaloneWebURLs...) {
		if p, err := url.Parse(u); err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
			errs = append(errs, fmt.Errorf("standalone-rest-url and standalone-web-url must be http:// or https:// addresses, not %q", u))
		}
	}
	if c.StandaloneRESTSecretFile != "" && len(c.StandaloneRESTURLs) == 0 {
		errs = append(errs, errors.New("standalone-rest-secret-file signs requests to the REST servers of --standalone-rest-url, which is not set"))
	}
	if _, err := regexp.Compile(c.RedactionRegex); err != nil {
		errs = append(errs, fmt.Errorf("redaction-regex: %w", err))
	}
	if !clusterTag.MatchString(c.ClusterTag) {
		errs = append(errs, fmt.Errorf("cluster-tag must be 1 to 64 of a-z, 0-9 and -, not %q", c.ClusterTag))
	}
	if c.MaxConnections < 1 || c.MaxRequestsPerUser < 1 {
		errs = append(errs, fmt.Errorf("max-connections and max-requests-per-user must be at least 1, not %d and %d", c.MaxConnections, c.MaxRequestsPerUser))
	}
	if c.MaxConcurrentLaunches < 1 {
		errs = append(errs, fmt.Errorf("max-concurrent-launches must be at least 1, not %d", c.MaxConcurrentLaunches))
	}
	for name, d := range map[string]time.Duration{"lease": c.Lease, "retain-finished": c.RetainFinished, "launch-timeout": c.LaunchTimeout,
		"kill-grace": c.KillGrace, "idempotency-retention": c.IdempotencyRetention, "reservation-ttl": c.ReservationTTL,
		"driver-gateway-timeout": c.DriverGatewayTimeout, "cluster-poll-interval": c.ClusterPollInterval, "cluster-submit-wait": c.ClusterSubmitWait,
		"leak-check-interval": c.LeakCheckInterval, "leak-check-grace": c.LeakCheckGrace} {
		if d <= 0 {
			errs = append(errs, fmt.Errorf("%s must be positive, not %s", name, d))
		}
	}
	if c.ShutdownDrain < 0 {
		errs = append(errs, fmt.Errorf("shutdown-drain must not be negative, not %s", c.ShutdownDrain))
	}
	if c.SessionIdleTimeout < 0 || c.SessionTTL < 0 {
		errs = append(errs, errors.New("session-idle-timeout and session-ttl must not be negative (0 turns them off)"))
	}
	if c.MaxBodyBytes < 1024 {
		errs = append(errs, fmt.Errorf("max-body-bytes must be at least 1024, not %d", c.MaxBodyBytes))
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		errs = append(errs, fmt.Errorf("log-format must be text or json, not %q", c.LogFormat))
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, fmt.Errorf("log-level must be debug, info, warn or error, not %q", c.LogLevel))
	}
	for _, d := range c.LocalDirWhitelist {
		if strings.Contains(d, "://") {
			errs = append(errs, fmt.Errorf("local-dir-whitelist entry %q must be a directory, not a URI", d))
		}
	}
	errs = append(errs, c.Bounds.validate(c.MaxUploadBytes)...)
	errs = append(errs, c.LaunchKerberos.validate()...)
	errs = append(errs, c.validateAppUser()...)
	errs = append(errs, c.Auth.validate(c.Addr)...)
	errs = append(errs, c.Access.validate(c.Auth.Type)...)
	errs = append(errs, c.TLS.validate()...)
	return errors.Join(errs...)
}

// redactURL hides a password in a URL for messages.
func redactURL(s string) string {
	if u, err := url.Parse(s); err == nil && u.User != nil {
		if _, has := u.User.Password(); has {
			u.User = url.UserPassword(u.User.Username(), "xxxxx")
			return u.String()
		}
	}
	return s
}
