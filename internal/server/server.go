// Package server is sparkgate's composition root: it builds the store, the launcher, the
// session managers and the HTTP API from the configuration, binds its port before it touches
// anything on disk, serves, and shuts down in order — long polls first, then requests, then
// adoption, the managers, the lease (given up, so that a peer adopts at once), the store last.
package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	_ "net/http/pprof" // served only on --debug-addr
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/sparkgate/sparkgate/internal/access"
	"github.com/sparkgate/sparkgate/internal/api"
	"github.com/sparkgate/sparkgate/internal/auth"
	"github.com/sparkgate/sparkgate/internal/batch"
	"github.com/sparkgate/sparkgate/internal/config"
	"github.com/sparkgate/sparkgate/internal/idempotency"
	"github.com/sparkgate/sparkgate/internal/instance"
	"github.com/sparkgate/sparkgate/internal/interactive"
	"github.com/sparkgate/sparkgate/internal/kinit"
	"github.com/sparkgate/sparkgate/internal/launcher"
	"github.com/sparkgate/sparkgate/internal/leakcheck"
	"github.com/sparkgate/sparkgate/internal/logfile"
	"github.com/sparkgate/sparkgate/internal/metrics"
	"github.com/sparkgate/sparkgate/internal/runner"
	"github.com/sparkgate/sparkgate/internal/standalone"
	"github.com/sparkgate/sparkgate/internal/store"
	"github.com/sparkgate/sparkgate/internal/store/bolt"
	"github.com/sparkgate/sparkgate/internal/store/postgres"
	"github.com/sparkgate/sparkgate/internal/tlsfiles"
	"github.com/sparkgate/sparkgate/internal/ui"
	"github.com/sparkgate/sparkgate/internal/yarn"
)

// ShutdownTimeout bounds the drain of requests in flight at shutdown.
const ShutdownTimeout = 10 * time.Second

// Server is one sparkgate instance, bound to its address.
type Server struct {
	cfg       *config.Config
	log       *slog.Logger
	ln        net.Listener
	debugLn   net.Listener
	metricsLn net.Listener // --metrics-addr; nil: /metrics on the API's address
	started   time.Time
	dataDir   string // absolute
	launcher  launcher.Config
	auth      auth.Authenticator
	access    *access.Policy
	cert      *tlsfiles.Certificate // nil: plain HTTP
}

// New checks what the server needs from its machine and binds its listeners; nothing is
// created on disk yet, so a start on a taken port fails clean. Run serves; Close releases the
// listeners of a server that will not run.
func New(cfg *config.Config, log *slog.Logger) (*Server, error) {
	s := &Server{cfg: cfg, log: log, started: time.Now()}
	dataDir, err := filepath.Abs(cfg.DataDir)
	if err != nil {
		return nil, err
	}
	s.dataDir = dataDir
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("find own executable for the supervisor: %w", err)
	}
	s.launcher = launcher.Config{
		SparkHome: cfg.SparkHome, Master: cfg.SparkMaster, DeployMode: cfg.DeployMode,
		LocalDirWhitelist: cfg.LocalDirWhitelist, ConfBlacklist: cfg.ConfBlacklist, ConfAllowed: cfg.ConfAllowed, Impersonation: cfg.Impersonation,
		AppsDir: filepath.Join(dataDir, "apps"), SupervisorCmd: []string{self, "supervise", "--detach"},
		Env: launcher.AppEnvironment(os.Environ(), cfg.AppEnv), ClusterTag: cfg.ClusterTag, SubmitWait: cfg.ClusterSubmitWait,
		WorkDir: filepath.Join(dataDir, "work"),
		AppUser: cfg.AppUser, AppWorkRoot: filepath.Join(dataDir, appWorkDirName),
		ProxyUserAccounts: cfg.Impersonation && cfg.Auth.Type != "none",
	}
	if cfg.AppUser != "" {
		if err := checkAppUser(cfg.AppUser); err != nil {
			return nil, err
		}
	}
	if s.auth, err = authenticator(cfg.Auth, log); err != nil {
		return nil, err
	}
	if s.access, err = accessPolicy(cfg); err != nil {
		return nil, err
	}
	if cfg.TLS.On() {
		if s.cert, err = tlsfiles.Load(cfg.TLS.Cert, cfg.TLS.Key, log.With("component", "tls")); err != nil {
			return nil, err
		}
	}
	if s.ln, err = net.Listen("tcp", cfg.Addr); err != nil {
		return nil, fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	if host, port, err := net.SplitHostPort(cfg.AdvertiseAddr); err == nil && port == "0" {
		// --addr host:0 (tests): peers dial the port the listener got
		_, bound, _ := net.SplitHostPort(s.Addr())
		cfg.AdvertiseAddr = net.JoinHostPort(host, bound)
	}
	if cfg.DebugAddr != "" {
		if s.debugLn, err = net.Listen("tcp", cfg.DebugAddr); err != nil {
			s.Close()
			return nil, fmt.Errorf("listen on debug address %s: %w", cfg.DebugAddr, err)
		}
	}
	if cfg.MetricsAddr != "" {
		if s.metricsLn, err = net.Listen("tcp", cfg.MetricsAddr); err != nil {
			s.Close()
			return nil, fmt.Errorf("listen on metrics address %s: %w", cfg.MetricsAddr, err)
		}
	}
	return s, nil
}

// Addr is the address the API is served on.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Close releases the listeners; Run does it itself.
func (s *Server) Close() {
	for _, ln := range []net.Listener{s.ln, s.debugLn, s.metricsLn} {
		if ln != nil {
			ln.Close()
		}
	}
}

// Run opens the store, recovers the sessions this instance supervises, serves until ctx ends
// and then shuts down in order. Spark applications keep running; the next start re-attaches
// them.
func (s *Server) Run(ctx context.Context) error {
	defer s.Close()
	cfg, log := s.cfg, s.log
	if cfg.SparkHome == "" {
		log.Warn("no --spark-home and no SPARK_HOME: spark-submit is looked up on PATH")
	} else if _, err := os.Stat(filepath.Join(cfg.SparkHome, "bin", "spark-submit")); err != nil {
		log.Warn("spark-submit not found under --spark-home; launches will fail", "spark_home", cfg.SparkHome)
	}
	warnUserCodeReach(cfg, s.dataDir, log)
	if cfg.AppUser != "" {
		if err := confineDataDir(s.dataDir); err != nil {
			return err
		}
	}
	dsn, err := storeDSN(cfg.Store, cfg.StorePasswordFile)
	if err != nil {
		return err
	}
	st, err := openStore(ctx, dsn, s.dataDir, log.With("component", "store"))
	if err != nil {
		return err
	}
	defer st.Close()
	if cfg.LaunchKerberos.On() {
		keeper, err := launchTicket(ctx, cfg.LaunchKerberos, s.dataDir, log)
		if err != nil {
			return err
		}
		defer keeper.Stop()
		s.launcher.Env = append(slices.DeleteFunc(s.launcher.Env, func(kv string) bool { return strings.HasPrefix(kv, "KRB5CCNAME=") }),
			keeper.CacheEnv())
	}
	l, err := launcher.New(s.launcher)
	if err != nil {
		return err
	}
	m := metrics.New()
	var clusterTransport http.RoundTripper
	if cfg.SparkMaster == "yarn" && cfg.LaunchKerberos.On() {
		spnego, err := kinit.NewSPNEGO(cfg.LaunchKerberos.Principal, cfg.LaunchKerberos.Keytab, os.Getenv("KRB5_CONFIG"), nil)
		if err != nil {
			return fmt.Errorf("launch-kerberos-principal, for YARN's REST APIs: %w", err)
		}
		defer spnego.Close()
		clusterTransport = spnego
	}
	backend, err := clusterBackend(cfg, l, s.launcher.SupervisorCmd[0], clusterTransport, m, log)
	if err != nil {
		return err
	}
	caps, err := backend.Capabilities()
	if err != nil {
		return err
	}
	if p, ok := backend.(launcher.Prober); ok {
		probeCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
		for _, problem := range p.Probe(probeCtx) {
			log.Warn("the cluster manager: " + problem)
		}
		cancel()
	}
	logs := logfile.New()
	inst := instance.New(instance.Config{ID: cfg.InstanceID, Addr: cfg.AdvertiseAddr, Volume: caps.Scope, Lease: cfg.Lease,
		RetainFinished: cfg.RetainFinished, IdempotencyRetention: cfg.IdempotencyRetention, ReservationTTL: cfg.ReservationTTL,
		Holdings: appDirs{launcher: l, appsDir: s.launcher.AppsDir, logs: logs}},
		st, func(sess *store.Session) { forgetFiles(l, logs, sess, log) }, m, log.With("component", "instance"))
	if err := inst.Join(ctx); err != nil {
		return err
	}
	defer inst.Leave() // last: once nothing of this instance acts on its sessions any more
	limits := launcher.Limits{MaxConcurrentLaunches: cfg.MaxConcurrentLaunches, LaunchTimeout: cfg.LaunchTimeout, KillGrace: cfg.KillGrace,
		FollowInterval: caps.FollowInterval, ResubmitGrace: caps.ResubmitGrace}
	bounds := idempotency.Bounds{ReservationTTL: cfg.ReservationTTL, MaxActive: cfg.Bounds.MaxActivePerUser,
		MaxReservations: cfg.Bounds.MaxReservationsPerUser}
	// one set of launch slots: --max-concurrent-launches counts the JVMs starting on this host
	slots := runner.NewSlots(cfg.MaxConcurrentLaunches)
	batches := batch.New(batch.Config{Limits: limits, InstanceID: cfg.InstanceID, Bounds: bounds,
		SweepInterval: cfg.Lease / 3, Slots: slots}, st, backend, logs, m, log.With("component", "batches"))
	if err := batches.Start(ctx); err != nil {
		return err
	}
	defer batches.Stop()
	sessions := interactive.New(interactive.Config{DataDir: s.dataDir, DriverURL: cfg.DriverURL, InstanceID: cfg.InstanceID,
		Limits: limits, Slots: slots, Bounds: bounds, MaxStatements: cfg.Bounds.MaxStatementsPerSession,
		MaxOutputBytes: cfg.Bounds.MaxStatementOutputBytes, MaxSessionUploadBytes: cfg.Bounds.MaxSessionUploadBytes,
		Timeouts:       interactive.Timeouts{Idle: cfg.SessionIdleTimeout, TTL: cfg.SessionTTL},
		GatewayTimeout: cfg.DriverGatewayTimeout, RemoteDrivers: caps.RemoteDrivers, DriverCAFile: cfg.TLS.CAFile,
		DriversApart: cfg.AppUser != ""},
		st, backend, logs, log.With("component", "sessions"))
	if err := sessions.Start(ctx); err != nil {
		return err
	}
	defer sessions.Stop()
	if cluster, ok := backend.(leakcheck.Cluster); ok {
		leaks := leakcheck.New(cluster, st, cfg.LeakCheckInterval, cfg.LeakCheckGrace, log.With("component", "leakcheck"))
		leaks.Start(ctx)
		defer leaks.Stop()
	}
	inst.Register(store.KindBatch, batches.Recover)
	inst.Register(store.KindInteractive, sessions.Recover)
	if err := inst.Start(ctx); err != nil {
		return err
	}
	defer inst.Stop() // first: no adoption into a manager that is stopping

	peerTLS, err := peerTLSConfig(cfg.TLS)
	if err != nil {
		return err
	}
	storeName := "embedded"
	if cfg.Store != "" {
		storeName = "postgres"
	}
	pages, err := ui.New()
	if err != nil {
		return err
	}
	ready := &readiness{store: st, instanceID: cfg.InstanceID, appsDir: s.launcher.AppsDir}
	if caps.SubmitsLocally {
		ready.sparkSubmit = l.SparkSubmit()
	}
	srv := &http.Server{
		Handler: api.New(api.Config{MaxBodyBytes: cfg.MaxBodyBytes, MaxUploadBytes: cfg.MaxUploadBytes, MaxOutputBytes: cfg.Bounds.MaxStatementOutputBytes, CSRFProtection: cfg.CSRFProtection,
			Redaction: regexp.MustCompile(cfg.RedactionRegex), Guard: auth.NewGuard(s.auth, countAuth(m), log.With("component", "auth")),
			Access: s.access, PeerTLS: peerTLS, LoopbackOnly: cfg.LoopbackOnly(), AllowedHosts: cfg.AllowedHosts,
			MaxRequestsPerUser: cfg.MaxRequestsPerUser, MetricsElsewhere: s.metricsLn != nil, Readiness: ready,
			UI: pages, Status: statusOf(st, storeName, cfg.InstanceID, batches), Draining: ready.draining.Load},
			batches, sessions, m, log.With("component", "api")),
		ReadHeaderTimeout: 10 * time.Second,
		ConnState:         newConnLimit(cfg.MaxConnections).track,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	// Long polls wait for work, not for the client: ending them first lets the drain finish.
	srv.RegisterOnShutdown(sessions.EndPolls)
	if s.debugLn != nil {
		debugSrv := &http.Server{Handler: http.DefaultServeMux, ReadHeaderTimeout: 10 * time.Second}
		go debugSrv.Serve(s.debugLn)
		defer debugSrv.Close()
	}
	if s.metricsLn != nil {
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", m.Handler())
		metricsSrv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
		go metricsSrv.Serve(s.metricsLn)
		defer metricsSrv.Close()
	}
	serveErr := make(chan error, 1)
	ln := s.ln
	if s.cert != nil {
		ln = tls.NewListener(s.ln, s.cert.Config())
	}
	go func() { serveErr <- srv.Serve(ln) }()
	log.Info("sparkgate ready", "instance", cfg.InstanceID, "addr", s.Addr(), "advertise_addr", cfg.AdvertiseAddr, "data_dir", s.dataDir, "store", storeName,
		"spark_master", cfg.SparkMaster, "tls", s.cert != nil, "auth", cfg.Auth.Type, "access_control", cfg.Access.Enabled, "local_dir_whitelist", strings.Join(cfg.LocalDirWhitelist, ","),
		"startup", time.Since(s.started).Round(time.Millisecond))

	select {
	case err := <-serveErr:
		return err
	case <-ctx.Done():
	}
	ready.draining.Store(true)
	if cfg.ShutdownDrain > 0 {
		// /readyz answers 503 while every request is still served, each on a connection of its
		// own, so that the load balancer moves the traffic to the peers before the door closes
		log.Info("draining before shutdown: /readyz answers 503", "drain", cfg.ShutdownDrain)
		srv.SetKeepAlivesEnabled(false)
		time.Sleep(cfg.ShutdownDrain)
	}
	log.Info("shutting down; Spark applications keep running and are re-attached on the next start")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-serveErr; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// clusterBackend is where applications run: YARN's, followed through its ResourceManager, or
// the local launcher's processes (local mode, and Spark standalone in client mode). transport
// carries the requests to the cluster manager (the default when nil).
func clusterBackend(cfg *config.Config, l *launcher.Launcher, self string, transport http.RoundTripper, m *metrics.Metrics, log *slog.Logger) (launcher.Backend, error) {
	requests := func(outcome string) { m.ClusterRequests.WithLabelValues(outcome).Inc() }
	if strings.HasPrefix(cfg.SparkMaster, "spark://") && cfg.DeployMode == "cluster" {
		log.Info("drivers run on the Spark standalone cluster", "rest", cfg.StandaloneRESTURLs, "web", cfg.StandaloneWebURLs)
		master := standalone.NewMaster(cfg.StandaloneRESTURLs, cfg.StandaloneWebURLs)
		if cfg.StandaloneRESTSecretFile != "" {
			key, err := standalone.ReadRESTSecret(cfg.StandaloneRESTSecretFile)
			if err == nil {
				err = master.SignWith(key)
			}
			if err != nil {
				return nil, err
			}
		}
		return standalone.New(l, master, standalone.Config{
			SubmitCmd: []string{self, "standalone-submit"}, SubmitWait: cfg.ClusterSubmitWait,
			PollInterval: cfg.ClusterPollInterval, Requests: requests, RESTSecretFile: cfg.StandaloneRESTSecretFile}, log.With("component", "standalone")), nil
	}
	if cfg.SparkMaster != "yarn" {
		return l, nil
	}
	log.Info("applications run on YARN", "rm", cfg.YarnRMURL, "deploy_mode", cfg.DeployMode)
	return yarn.New(l, yarn.NewResourceManager(cfg.YarnRMURL, transport), yarn.Config{PollInterval: cfg.ClusterPollInterval,
		Requests: requests, LaunchTimeout: cfg.LaunchTimeout}, log.With("component", "yarn")), nil
}

// forgetFiles removes what a purged session leaves outside the store: its application's
// directory, and the cached index of its log.
func forgetFiles(l *launcher.Launcher, logs *logfile.Index, sess *store.Session, log *slog.Logger) {
	logs.Forget(l.LogPath(sess.Tag))
	if err := l.Remove(sess.Tag); err != nil {
		log.Warn("remove application directory", "tag", sess.Tag, "err", err)
	}
}

// openStore opens the embedded store in dataDir, or the PostgreSQL store at url.
// storeDSN is the store's DSN with the password of passwordFile, if given: in memory only.
func storeDSN(dsn, passwordFile string) (string, error) {
	if passwordFile == "" || dsn == "" {
		return dsn, nil
	}
	b, err := os.ReadFile(passwordFile)
	if err != nil {
		return "", fmt.Errorf("store password: %w", err)
	}
	u, err := url.Parse(dsn)
	if err != nil {
		return "", fmt.Errorf("store: %w", err)
	}
	u.User = url.UserPassword(u.User.Username(), strings.TrimRight(string(b), "\r\n"))
	return u.String(), nil
}

func openStore(ctx context.Context, url, dataDir string, log *slog.Logger) (store.Store, error) {
	if url == "" {
		return bolt.Open(filepath.Join(dataDir, "sparkgate.db"), log)
	}
	return postgres.Open(ctx, url, log)
}
