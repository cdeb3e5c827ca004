package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/sparkgate/sparkgate/client"
)

const cliUsage = `Client commands (server from --server, or $SPARKGATE_URL, default http://127.0.0.1:8998):
  sparkgate submit FILE [ARG...] [--conf k=v]... [--name N] [--class C] [--wait] [-- ARG...]
                         create a batch exactly once (PUT with a requestId, retried until
                         answered); prints its id; --wait follows its log and exits 1 unless
                         it ends in success
  sparkgate status ID    print the batch's view
  sparkgate logs ID [-f] print the batch's whole log; -f follows it until the batch ends
  sparkgate kill ID      kill and delete the batch
  sparkgate batches      list the batches; sparkgate sessions: the interactive sessions
  sparkgate statements -s ID
                         print a session's statements with their outputs
  sparkgate run -s ID [--kind K] [--request-id GUID] CODE
                         run CODE (- reads it from stdin) in session ID, once however the
                         request is retried, and print its output as the UI shows it (a
                         table as columns); exits 1 if it fails
  -o json                (status, batches, sessions, statements, run) print JSON for scripts

Credentials, for a server with --auth: --user U with --password-file F (or $SPARKGATE_USER
and $SPARKGATE_PASSWORD) for basic and ldap; --token-file F (or $SPARKGATE_TOKEN) for jwt.
`

type confFlag map[string]client.String

func (c confFlag) String() string { return "" }

func (c confFlag) Set(v string) error {
	k, val, ok := strings.Cut(v, "=")
	if !ok || k == "" {
		return fmt.Errorf("expected key=value, got %q", v)
	}
	c[k] = client.String(val)
	return nil
}

type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error {
	*l = append(*l, strings.Split(v, ",")...)
	return nil
}

// parseInterleaved parses flags that may come before, between or after positional arguments;
// after "--" every argument is positional.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for len(args) > 0 {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if consumed := len(args) - len(rest); consumed > 0 && args[consumed-1] == "--" {
			return append(positional, rest...), nil
		}
		if len(rest) == 0 {
			break
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
	return positional, nil
}

func serverURL(flagValue string) string {
	if flagValue != "" {
		return flagValue
	}
	if env := os.Getenv("SPARKGATE_URL"); env != "" {
		return env
	}
	return "http://127.0.0.1:8998"
}

// clientCommand runs submit, status, logs and kill.
func clientCommand(name string, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("sparkgate "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, cliUsage) }
	server := fs.String("server", "", "sparkgate URL (default $SPARKGATE_URL or http://127.0.0.1:8998)")
	var creds credentials
	creds.flags(fs)
	conf := confFlag{}
	var jars, pyFiles, files listFlag
	var batchName, className, requestID string
	var wait, follow bool
	switch name {
	case "submit":
		fs.Var(conf, "conf", "a Spark conf key=value (repeatable)")
		fs.StringVar(&batchName, "name", "", "batch name")
		fs.StringVar(&className, "class", "", "main class of a jar")
		fs.Var(&jars, "jars", "comma-separated jars")
		fs.Var(&pyFiles, "py-files", "comma-separated Python files")
		fs.Var(&files, "files", "comma-separated files")
		fs.StringVar(&requestID, "request-id", "", "the requestId to create under (default: a new one)")
		fs.BoolVar(&wait, "wait", false, "follow the batch to its end, streaming its log")
	case "logs":
		fs.BoolVar(&follow, "f", false, "follow the log until the batch ends")
	case "status":
		fs.String("o", "json", "output: the batch's view is JSON")
	}
	pos, err := parseInterleaved(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	authOpt, err := creds.option()
	if err != nil {
		fmt.Fprintf(stderr, "sparkgate %s: %v\n", name, err)
		return 2
	}
	c := client.New(serverURL(*server), authOpt...)
	fail := func(err error) int {
		fmt.Fprintf(stderr, "sparkgate %s: %v\n", name, err)
		return 1
	}
	if name == "submit" {
		if len(pos) == 0 {
			fmt.Fprint(stderr, "sparkgate submit: missing FILE\n\n"+cliUsage)
			return 2
		}
		req := &client.CreateBatchRequest{File: localToAbsolute(pos[0]), Jars: jars, PyFiles: pyFiles, Files: files}
		for _, a := range pos[1:] {
			req.Args = append(req.Args, client.String(a))
		}
		if len(conf) > 0 {
			req.Conf = conf
		}
		if batchName != "" {
			req.Name = &batchName
		}
		if className != "" {
			req.ClassName = &className
		}
		if requestID == "" {
			requestID = client.NewRequestID()
		}
		b, created, err := c.CreateBatchWithRequestID(ctx, requestID, req)
		if err != nil {
			return fail(err)
		}
		fmt.Fprintln(stdout, b.ID)
		if !created {
			fmt.Fprintf(stderr, "batch %d already existed for requestId %s\n", b.ID, requestID)
		}
		if !wait {
			return 0
		}
		return followBatch(ctx, c, b.ID, 0, stdout, stderr)
	}
	if len(pos) != 1 {
		fmt.Fprintf(stderr, "sparkgate %s: expected one batch id\n\n%s", name, cliUsage)
		return 2
	}
	id, err := strconv.ParseInt(pos[0], 10, 64)
	if err != nil || id < 0 {
		fmt.Fprintf(stderr, "sparkgate %s: %q is not a batch id\n", name, pos[0])
		return 2
	}
	switch name {
	case "status":
		b, err := c.Batch(ctx, id)
		if err != nil {
			return fail(err)
		}
		printJSON(stdout, b) // the view is JSON already: -o json or not
		return 0
	case "kill":
		if err := c.DeleteBatch(ctx, id); err != nil {
			return fail(err)
		}
		fmt.Fprintf(stdout, "batch %d killed and deleted\n", id)
		return 0
	default: // logs
		if follow {
			return followBatch(ctx, c, id, 0, stdout, stderr)
		}
		if _, err := printLog(ctx, c, id, 0, stdout); err != nil {
			return fail(err)
		}
		return 0
	}
}

// localToAbsolute makes a relative local path absolute, since the server accepts only those.
func localToAbsolute(file string) string {
	if u, err := url.Parse(file); err == nil && u.Scheme != "" {
		return file
	}
	if abs, err := filepath.Abs(file); err == nil {
		return abs
	}
	return file
}

// printLog prints the log from line from on and returns the next line to print.
func printLog(ctx context.Context, c *client.Client, id int64, from int, w io.Writer) (int, error) {
	for {
		page, err := c.BatchLog(ctx, id, from, 1000)
		if err != nil {
			return from, err
		}
		for _, line := range page.Log {
			fmt.Fprintln(w, line)
		}
		from += len(page.Log)
		if len(page.Log) == 0 || from >= page.Total {
			return from, nil
		}
	}
}

// followBatch streams the log until the batch ends; its exit code says how it ended.
func followBatch(ctx context.Context, c *client.Client, id int64, from int, stdout, stderr io.Writer) int {
	p := newProgress(stderr, fmt.Sprintf("batch %d", id))
	start := time.Now()
	for {
		state, err := c.BatchState(ctx, id)
		if err != nil {
			p.clear()
			fmt.Fprintf(stderr, "sparkgate: %v\n", err)
			return 1
		}
		p.state(state)
		before := from
		p.clear()
		if from, err = printLog(ctx, c, id, from, stdout); err != nil {
			fmt.Fprintf(stderr, "sparkgate: %v\n", err)
			return 1
		}
		if client.Terminal(state) {
			if state == "success" {
				return 0
			}
			return 1
		}
		if from == before {
			p.tick(time.Since(start).Round(time.Second).String())
		}
		select {
		case <-ctx.Done():
			return 130
		case <-time.After(500 * time.Millisecond):
		}
	}
}
