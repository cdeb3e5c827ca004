package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/sparkgate/sparkgate/client"
)

// How the client commands print: aligned text for a person, or JSON (-o json) for a script.

// printJSON writes v as indented JSON.
func printJSON(w io.Writer, v any) {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

// printTable writes rows under a header, in aligned columns.
func printTable(w io.Writer, header []string, rows [][]string) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	tw.Flush()
}

func orDash(s *string) string {
	if s == nil || *s == "" {
		return "-"
	}
	return *s
}

// statementOutput is a statement's output as the UI shows it, in text: a table as aligned
// columns, an image by its size, an error with its traceback, text as it is.
type statementOutput struct {
	Status    string         `json:"status"`
	Data      map[string]any `json:"data"`
	EName     string         `json:"ename"`
	EValue    string         `json:"evalue"`
	Traceback []string       `json:"traceback"`
}

func printOutput(w io.Writer, st *client.Statement) {
	var out statementOutput
	if len(st.Output) == 0 || json.Unmarshal(st.Output, &out) != nil {
		fmt.Fprintf(w, "(%s, no output)\n", st.State)
		return
	}
	if out.Status == "error" {
		fmt.Fprintf(w, "%s: %s\n%s", out.EName, out.EValue, strings.Join(out.Traceback, ""))
		return
	}
	if t, ok := out.Data["application/vnd.livy.table.v1+json"].(map[string]any); ok {
		var header []string
		for _, h := range asList(t["headers"]) {
			if m, ok := h.(map[string]any); ok {
				header = append(header, fmt.Sprint(m["name"]))
			}
		}
		var rows [][]string
		for _, r := range asList(t["data"]) {
			var cells []string
			for _, v := range asList(r) {
				cells = append(cells, cell(v))
			}
			rows = append(rows, cells)
		}
		printTable(w, header, rows)
		return
	}
	if img, ok := out.Data["image/png"].(string); ok {
		fmt.Fprintf(w, "[image/png, %d bytes base64]\n", len(img))
		return
	}
	text, _ := out.Data["text/plain"].(string)
	fmt.Fprintln(w, text)
}

func asList(v any) []any { l, _ := v.([]any); return l }

func cell(v any) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case string:
		return v
	case map[string]any, []any:
		b, _ := json.Marshal(v)
		return string(b)
	}
	return fmt.Sprint(v)
}

// progress tells how a wait goes on stderr: a line at each change of state, and on a terminal
// a spinner with the time waited, cleared before the log's lines.
type progress struct {
	w        io.Writer
	tty      bool
	what     string
	last     string
	frame    int
	spinning bool
}

func newProgress(w io.Writer, what string) *progress {
	f, ok := w.(*os.File)
	tty := false
	if ok {
		if info, err := f.Stat(); err == nil {
			tty = info.Mode()&os.ModeCharDevice != 0
		}
	}
	return &progress{w: w, tty: tty, what: what}
}

func (p *progress) state(state string) {
	if state == p.last {
		return
	}
	p.clear()
	fmt.Fprintf(p.w, "%s: %s\n", p.what, state)
	p.last = state
}

func (p *progress) tick(waited string) {
	if !p.tty {
		return
	}
	frames := `|/-\`
	fmt.Fprintf(p.w, "\r%c %s %s ", frames[p.frame%len(frames)], p.last, waited)
	p.frame++
	p.spinning = true
}

func (p *progress) clear() {
	if p.spinning {
		fmt.Fprint(p.w, "\r\033[K")
		p.spinning = false
	}
}
