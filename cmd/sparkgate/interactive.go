package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/sparkgate/sparkgate/client"
)

// listCommand runs batches, sessions, statements and run: the commands that read lists and
// run code, in text or (-o json) JSON.
func listCommand(name string, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("sparkgate "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, cliUsage) }
	server := fs.String("server", "", "sparkgate URL (default $SPARKGATE_URL or http://127.0.0.1:8998)")
	output := fs.String("o", "text", "output: text or json")
	var creds credentials
	creds.flags(fs)
	var sessionID int64 = -1
	var kind, requestID string
	if name == "run" || name == "statements" {
		fs.Int64Var(&sessionID, "s", -1, "the session's id")
	}
	if name == "run" {
		fs.StringVar(&kind, "kind", "", "the statement's kind in a shared session: spark, pyspark, sparkr or sql")
		fs.StringVar(&requestID, "request-id", "", "the statement's requestId, a GUID: a rerun with the same one runs the code once (default: a new one)")
	}
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return 2
	}
	if *output != "text" && *output != "json" {
		fmt.Fprintf(stderr, "sparkgate %s: -o must be text or json, not %q\n", name, *output)
		return 2
	}
	if (name == "run" || name == "statements") && sessionID < 0 {
		fmt.Fprintf(stderr, "sparkgate %s: -s SESSION is required\n\n%s", name, cliUsage)
		return 2
	}
	if name == "run" && len(pos) != 1 {
		fmt.Fprint(stderr, "sparkgate run: expected the code, one argument (- reads it from stdin)\n\n"+cliUsage)
		return 2
	}
	authOpt, err := creds.option()
	if err != nil {
		fmt.Fprintf(stderr, "sparkgate %s: %v\n", name, err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	c := client.New(serverURL(*server), authOpt...)
	asJSON := *output == "json"
	var runErr error
	switch name {
	case "batches":
		runErr = printBatches(ctx, c, stdout, asJSON)
	case "sessions":
		runErr = printSessions(ctx, c, stdout, asJSON)
	case "statements":
		runErr = printStatements(ctx, c, sessionID, stdout, asJSON)
	case "run":
		return runCode(ctx, c, sessionID, pos[0], kind, requestID, stdout, stderr, asJSON)
	}
	if runErr != nil {
		fmt.Fprintf(stderr, "sparkgate %s: %v\n", name, runErr)
		return 1
	}
	return 0
}

func printBatches(ctx context.Context, c *client.Client, w io.Writer, asJSON bool) error {
	l, err := c.Batches(ctx, 0, 1000)
	if done, err := jsonOr(w, asJSON, l, err); done {
		return err
	}
	var rows [][]string
	for _, b := range l.Sessions {
		rows = append(rows, []string{strconv.FormatInt(b.ID, 10), orDash(b.Name), orDash(b.Owner), b.State, orDash(b.AppID), since(b.CreatedAt)})
	}
	printTable(w, []string{"ID", "NAME", "OWNER", "STATE", "APPLICATION", "AGE"}, rows)
	return nil
}

func printSessions(ctx context.Context, c *client.Client, w io.Writer, asJSON bool) error {
	l, err := c.Sessions(ctx, 0, 1000)
	if done, err := jsonOr(w, asJSON, l, err); done {
		return err
	}
	var rows [][]string
	for _, s := range l.Sessions {
		rows = append(rows, []string{strconv.FormatInt(s.ID, 10), orDash(s.Name), orDash(s.Owner), s.Kind, s.State, orDash(s.AppID), since(s.CreatedAt)})
	}
	printTable(w, []string{"ID", "NAME", "OWNER", "KIND", "STATE", "APPLICATION", "AGE"}, rows)
	return nil
}

func printStatements(ctx context.Context, c *client.Client, id int64, w io.Writer, asJSON bool) error {
	l, err := c.Statements(ctx, id)
	if done, err := jsonOr(w, asJSON, l, err); done {
		return err
	}
	for i := len(l.Statements) - 1; i >= 0; i-- { // the oldest first, as a notebook reads
		st := l.Statements[i]
		fmt.Fprintf(w, "[%d] %s\n%s\n", st.ID, st.State, indent(st.Code, "> "))
		printOutput(w, st)
		fmt.Fprintln(w)
	}
	return nil
}

// runCode runs code in the session once, under requestID (a new one when empty), and prints
// its output as the UI shows it; it exits 1 when the statement fails.
func runCode(ctx context.Context, c *client.Client, id int64, code, kind, requestID string, stdout, stderr io.Writer, asJSON bool) int {
	if code == "-" {
		b, err := io.ReadAll(os.Stdin)
		if err != nil {
			fmt.Fprintf(stderr, "sparkgate run: %v\n", err)
			return 2
		}
		code = string(b)
	}
	if requestID == "" {
		requestID = client.NewRequestID()
	}
	st, err := c.RunWithRequestID(ctx, id, requestID, code, kind, 200*time.Millisecond)
	if err != nil {
		fmt.Fprintf(stderr, "sparkgate run: %v\n", err)
		return 1
	}
	if asJSON {
		printJSON(stdout, st)
	} else {
		printOutput(stdout, st)
	}
	if st.State != "available" || strings.Contains(string(st.Output), `"status":"error"`) {
		return 1
	}
	return 0
}

// jsonOr prints v as JSON when asJSON and err is nil; it says whether the caller is done.
func jsonOr(w io.Writer, asJSON bool, v any, err error) (bool, error) {
	if err == nil && asJSON {
		printJSON(w, v)
	}
	return err != nil || asJSON, err
}

func indent(s, prefix string) string {
	return prefix + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n"+prefix)
}

// since is how long ago an RFC 3339 time was, roughly.
func since(at string) string {
	t, err := time.Parse(time.RFC3339, at)
	if err != nil {
		return "-"
	}
	return time.Since(t).Round(time.Second).String()
}
