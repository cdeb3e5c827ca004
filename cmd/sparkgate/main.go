// Command sparkgate is a REST gateway for Apache Spark that speaks Apache Livy's API, and a
// command-line client of it.
//
//	sparkgate serve [flags]     run the server
//	sparkgate submit FILE ...   create a batch exactly once (and follow it with --wait)
//	sparkgate status|logs|kill  look at or end a batch
//	sparkgate version           print the version
//	sparkgate supervise ...     (internal) supervise one Spark application
//	sparkgate standalone-submit (internal) submit a driver to a Spark standalone Master
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/sparkgate/sparkgate/internal/config"
	"github.com/sparkgate/sparkgate/internal/livy"
	"github.com/sparkgate/sparkgate/internal/server"
	"github.com/sparkgate/sparkgate/internal/standalone"
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
	case "standalone-submit":
		return standalone.Submit(args[1:], stdout, stderr)
	case "submit", "status", "logs", "kill":
		return clientCommand(args[0], args[1:], stdout, stderr)
	case "batches", "sessions", "statements", "run":
		return listCommand(args[0], args[1:], stdout, stderr)
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
	appUser := fs.String("app-user", "", "run the application as this OS user")
	appWork := fs.String("app-work", "", "the working directory of its own the application runs in, with --app-user")
	execApp := fs.Bool("exec-app", false, "(the exec stage of --app-user, run as that user) exec the command in --app-work")
	var handOver []string
	fs.Func("hand-over", "(with --exec-app) a file of --dir handed over as the next descriptor from 3", func(v string) error {
		handOver = append(handOver, v)
		return nil
	})
	removeWork := fs.String("remove-work", "", "(run as its owner) remove an application's own working directory")
	err := fs.Parse(args)
	if err == nil && *removeWork != "" {
		return supervisor.RemoveOwnWorkDir(*removeWork)
	}
	if err != nil || *dir == "" || fs.NArg() == 0 || (*appUser != "" || *execApp) && *appWork == "" {
		fmt.Fprintln(stderr, "usage: sparkgate supervise [--detach] [--app-user USER --app-work DIR] --dir DIR -- COMMAND [ARG...]")
		return supervisor.ExitUsage
	}
	if *execApp {
		return supervisor.ExecApp(supervisor.Dir(*dir), *appWork, handOver, fs.Args())
	}
	var as *supervisor.AppUser
	if *appUser != "" {
		as = &supervisor.AppUser{Name: *appUser, WorkDir: *appWork}
	}
	if *detach {
		self, err := os.Executable()
		if err != nil {
			fmt.Fprintln(stderr, err)
			return supervisor.ExitUsage
		}
		cmd := []string{self, "supervise"}
		if as != nil {
			cmd = append(cmd, as.Args()...)
		}
		return supervisor.Detach(cmd, supervisor.Dir(*dir), fs.Args())
	}
	return supervisor.Run(supervisor.Dir(*dir), fs.Args(), as)
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
	cfg, err := config.Load(args, os.Getenv, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "sparkgate serve: %v\n", err)
		return 2
	}
	log := newLogger(cfg.LogFormat, cfg.LogLevel, stderr)
	for _, note := range cfg.Notes {
		log.Warn(note)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	srv, err := server.New(cfg, log)
	if err == nil {
		err = srv.Run(ctx)
	}
	if err != nil {
		log.Error("sparkgate stopped", "err", err)
		return 1
	}
	return 0
}
