// Command sparkgate is a REST gateway for Apache Spark that speaks Apache Livy's API, and a
// command-line client of it.
//
//	sparkgate serve [flags]     run the server
//	sparkgate submit FILE ...   create a batch exactly once (and follow it with --wait)
//	sparkgate status|logs|kill  look at or end a batch
//	sparkgate version           print the version
//	sparkgate supervise ...     (internal) supervise one Spark application
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	_ "net/http/pprof" // served only on --debug-addr
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/sparkgate/sparkgate/internal/api"
	"github.com/sparkgate/sparkgate/internal/batch"
	"github.com/sparkgate/sparkgate/internal/config"
	"github.com/sparkgate/sparkgate/internal/interactive"
	"github.com/sparkgate/sparkgate/internal/launcher"
	"github.com/sparkgate/sparkgate/internal/livy"
	"github.com/sparkgate/sparkgate/internal/logfile"
	"github.com/sparkgate/sparkgate/internal/metrics"
	"github.com/sparkgate/sparkgate/internal/store"
	"github.com/sparkgate/sparkgate/internal/store/bolt"
	"github.com/sparkgate/sparkgate/internal/store/postgres"
	"github.com/sparkgate/sparkgate/internal/supervisor"
	"github.com/sparkgate/sparkgate/internal/version"
)

const usage = `sparkgate: a REST gateway for Apache Spark that speaks Apache Livy's API.

Usage:
  sparkgate serve [flags]   serve Livy's REST API (sparkgate serve --help lists the flags)
  sparkgate version         print sparkgate's version and the Livy API version it serves
  sparkgate help            print this help

` + cliUsage

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "serve":
		return serve(args[1:], stderr)
	case "version", "--version", "-version":
		vi := version.Get()
		fmt.Fprintf(stdout, "sparkgate %s (Livy API %s, revision %s)\n", vi.Version, livy.APIVersion, orUnknown(vi.Revision))
		return 0
	case "help", "--help", "-help", "-h":
		fmt.Fprint(stdout, usage)
		return 0
	case "supervise":
		return supervise(args[1:], stderr)
	case "submit", "status", "logs", "kill":
		return clientCommand(args[0], args[1:], stdout, stderr)
	default:
		fmt.Fprintf(stderr, "sparkgate: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

// supervise is the internal command that keeps one Spark application: see package supervisor.
func supervise(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("sparkgate supervise", flag.ContinueOnError)
	fs.SetOutput(stderr)
	detach := fs.Bool("detach", false, "start the supervisor in its own session and print its pid")
	dir := fs.String("dir", "", "the application directory")
	if err := fs.Parse(args); err != nil || *dir == "" || fs.NArg() == 0 {
		fmt.Fprintln(stderr, "usage: sparkgate supervise [--detach] --dir DIR -- COMMAND [ARG...]")
		return supervisor.ExitUsage
	}
	if *detach {
		self, err := os.Executable()
		if err != nil {
			fmt.Fprintln(stderr, err)
			return supervisor.ExitUsage
		}
		return supervisor.Detach([]string{self, "supervise"}, supervisor.Dir(*dir), fs.Args())
	}
	return supervisor.Run(supervisor.Dir(*dir), fs.Args())
}

func newLogger(format, level string, w io.Writer) *slog.Logger {
	var lv slog.Level
	_ = lv.UnmarshalText([]byte(level))
	opts := &slog.HandlerOptions{Level: lv}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

func serve(args []string, stderr io.Writer) int {
	started := time.Now()
	cfg, err := config.Load(args, os.Getenv, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "sparkgate serve: %v\n", err)
		return 2
	}
	log := newLogger(cfg.LogFormat, cfg.LogLevel, stderr)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := runServer(ctx, cfg, log, started); err != nil {
		log.Error("sparkgate stopped", "err", err)
		return 1
	}
	return 0
}

// openStore opens the embedded store in dataDir, or the PostgreSQL store at url.
func openStore(ctx context.Context, url, dataDir string, log *slog.Logger) (store.Store, error) {
	if url == "" {
		return bolt.Open(filepath.Join(dataDir, "sparkgate.db"), log)
	}
	return postgres.Open(ctx, url, log)
}

func runServer(ctx context.Context, cfg *config.Config, log *slog.Logger, started time.Time) error {
	dataDir, err := filepath.Abs(cfg.DataDir)
	if err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find own executable for the supervisor: %w", err)
	}
	if cfg.SparkHome == "" {
		log.Warn("no --spark-home and no SPARK_HOME: spark-submit is looked up on PATH")
	} else if _, err := os.Stat(filepath.Join(cfg.SparkHome, "bin", "spark-submit")); err != nil {
		log.Warn("spark-submit not found under --spark-home; launches will fail", "spark_home", cfg.SparkHome)
	}
	st, err := openStore(ctx, cfg.Store, dataDir, log.With("component", "store"))
	if err != nil {
		return err
	}
	defer st.Close()
	l, err := launcher.New(launcher.Config{
		SparkHome: cfg.SparkHome, Master: cfg.SparkMaster, DeployMode: cfg.DeployMode,
		LocalDirWhitelist: cfg.LocalDirWhitelist, ConfBlacklist: cfg.ConfBlacklist, Impersonation: cfg.Impersonation,
		AppsDir: filepath.Join(dataDir, "apps"), SupervisorCmd: []string{self, "supervise", "--detach"},
		Env: os.Environ(),
	})
	if err != nil {
		return err
	}
	volume, err := l.Volume()
	if err != nil {
		return fmt.Errorf("identify the applications' directory: %w", err)
	}
	m := metrics.New()
	instanceID := cfg.InstanceID
	if instanceID == "" {
		host, _ := os.Hostname()
		_, port, _ := net.SplitHostPort(cfg.Addr)
		instanceID = host + "-" + port
	}
	batches := batch.New(batch.Config{
		InstanceID: instanceID, Addr: cfg.Addr, Lease: cfg.Lease, Volume: volume,
		MaxConcurrentLaunches: cfg.MaxConcurrentLaunches, LaunchTimeout: cfg.LaunchTimeout,
		RetainFinished: cfg.RetainFinished, KillGrace: cfg.KillGrace,
		IdempotencyRetention: cfg.IdempotencyRetention, ReservationTTL: cfg.ReservationTTL,
	}, st, l, logfile.New(), m, log.With("component", "batches"))
	if err := batches.Start(ctx); err != nil {
		return err
	}
	defer batches.Stop()
	driverURL := cfg.DriverURL
	if driverURL == "" {
		driverURL = "http://" + cfg.Addr
	}
	sessions := interactive.New(interactive.Config{DataDir: dataDir, DriverURL: driverURL, InstanceID: instanceID,
		KillGrace: cfg.KillGrace, ReservationTTL: cfg.ReservationTTL,
		Timeouts: interactive.Timeouts{Idle: cfg.SessionIdleTimeout, TTL: cfg.SessionTTL}, Lease: cfg.Lease, Volume: volume,
		MaxConcurrentLaunches: cfg.MaxConcurrentLaunches, StartTimeout: cfg.LaunchTimeout},
		st, l, logfile.New(), log.With("component", "sessions"))
	if err := sessions.Start(ctx); err != nil {
		return err
	}
	defer sessions.Stop()

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	srv := &http.Server{
		Handler:           api.New(api.Config{MaxBodyBytes: cfg.MaxBodyBytes, MaxUploadBytes: cfg.MaxUploadBytes, CSRFProtection: cfg.CSRFProtection}, batches, sessions, m, log.With("component", "api")),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	if cfg.DebugAddr != "" {
		dln, err := net.Listen("tcp", cfg.DebugAddr)
		if err != nil {
			return fmt.Errorf("listen on debug address %s: %w", cfg.DebugAddr, err)
		}
		debugSrv := &http.Server{Handler: http.DefaultServeMux, ReadHeaderTimeout: 10 * time.Second}
		go debugSrv.Serve(dln)
		defer debugSrv.Close()
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	storeName := "embedded"
	if cfg.Store != "" {
		storeName = "postgres"
	}
	log.Info("sparkgate ready", "instance", instanceID, "addr", ln.Addr().String(), "data_dir", dataDir, "store", storeName, "spark_master", cfg.SparkMaster,
		"local_dir_whitelist", strings.Join(cfg.LocalDirWhitelist, ","), "startup", time.Since(started).Round(time.Millisecond))

	select {
	case err := <-serveErr:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down; Spark applications keep running and are re-attached on the next start")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	<-serveErr
	return nil
}
