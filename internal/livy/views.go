package livy

import (
	"encoding/json"
	"regexp"
)

// The views below are what clients index directly: every field is always present, with
// null or [] when empty (no omitempty anywhere).

// AppInfo is Livy's appInfo object.
type AppInfo struct {
	DriverLogURL    *string `json:"driverLogUrl"`
	SparkUIURL      *string `json:"sparkUiUrl"`
	ExecutorLogURLs *string `json:"executorLogUrls"`
}

// Batch is the view of one batch session.
type Batch struct {
	ID        int64    `json:"id"`
	Name      *string  `json:"name"`
	Owner     *string  `json:"owner"`
	ProxyUser *string  `json:"proxyUser"`
	State     string   `json:"state"`
	AppID     *string  `json:"appId"`
	AppInfo   AppInfo  `json:"appInfo"`
	Log       []string `json:"log"`
	// CreatedAt is sparkgate's, beyond Livy (RFC 3339): the UI shows an age from it.
	CreatedAt string `json:"createdAt,omitempty"`
}

// BatchList is the answer of GET /batches.
type BatchList struct {
	From     int      `json:"from"`
	Total    int      `json:"total"`
	Sessions []*Batch `json:"sessions"`
}

// State is the answer of GET /{type}/{id}/state.
type State struct {
	ID    int64  `json:"id"`
	State string `json:"state"`
}

// Log is the answer of GET /{type}/{id}/log.
type Log struct {
	ID    int64    `json:"id"`
	From  int      `json:"from"`
	Total int      `json:"total"`
	Log   []string `json:"log"`
}

// Message is Livy's error and acknowledgement body.
type Message struct {
	Msg string `json:"msg"`
}

// DefaultRedactionRegex is Spark's spark.redaction.regex: conf entries whose key or value it
// matches are shown redacted.
const DefaultRedactionRegex = `(?i)secret|password|token|access[.]?key`

// Redacted is what a redacted conf value reads, as in Spark's UI.
const Redacted = "*********(redacted)"

// Redact returns conf with the value of every entry whose key or value re matches replaced by
// Redacted, as Spark's UI shows a conf; conf itself is left as it is.
func Redact(conf map[string]String, re *regexp.Regexp) map[string]String {
	out := make(map[string]String, len(conf))
	for k, v := range conf {
		if re.MatchString(k) || re.MatchString(string(v)) {
			v = Redacted
		}
		out[k] = v
	}
	return out
}

// Version is the answer of GET /version: Livy's keys, plus sparkgate's own version.
type Version struct {
	Version          string `json:"version"`
	User             string `json:"user"`
	Revision         string `json:"revision"`
	Branch           string `json:"branch"`
	Date             string `json:"date"`
	URL              string `json:"url"`
	SparkgateVersion string `json:"sparkgateVersion"`
}

// BatchViewLogLines is how many of the log's last lines a batch view carries, as in Livy.
const BatchViewLogLines = 10

// Optional turns "" into null.
func Optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// Value turns an absent optional field into "".
func Value(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// Reservation is the answer of POST /{type}/id (LIVY-782): an id to PUT, and its guard.
type Reservation struct {
	SessionID int64  `json:"sessionId"`
	PutKey    string `json:"putKey"`
}

// Session is the view of one interactive session (Livy 0.9's fields).
type Session struct {
	ID                       int64             `json:"id"`
	Name                     *string           `json:"name"`
	AppID                    *string           `json:"appId"`
	Owner                    *string           `json:"owner"`
	ProxyUser                *string           `json:"proxyUser"`
	State                    string            `json:"state"`
	Kind                     string            `json:"kind"`
	AppInfo                  AppInfo           `json:"appInfo"`
	Log                      []string          `json:"log"`
	TTL                      *string           `json:"ttl"`
	IdleTimeout              *string           `json:"idleTimeout"`
	DriverMemory             *string           `json:"driverMemory"`
	DriverCores              *int              `json:"driverCores"`
	ExecutorMemory           *string           `json:"executorMemory"`
	ExecutorCores            *int              `json:"executorCores"`
	Conf                     map[string]String `json:"conf"`
	Archives                 []string          `json:"archives"`
	Files                    []string          `json:"files"`
	HeartbeatTimeoutInSecond int               `json:"heartbeatTimeoutInSecond"`
	Jars                     []string          `json:"jars"`
	NumExecutors             *int              `json:"numExecutors"`
	PyFiles                  []string          `json:"pyFiles"`
	Queue                    *string           `json:"queue"`
	CreatedAt                string            `json:"createdAt,omitempty"` // beyond Livy, as Batch's
}

// SessionList is the answer of GET /sessions.
type SessionList struct {
	From     int        `json:"from"`
	Total    int        `json:"total"`
	Sessions []*Session `json:"sessions"`
}

// Statement is the view of one statement.
type Statement struct {
	ID        int64           `json:"id"`
	Code      string          `json:"code"`
	State     string          `json:"state"`
	Output    json.RawMessage `json:"output"`
	Progress  float64         `json:"progress"`
	Started   int64           `json:"started"`
	Completed int64           `json:"completed"`
}

// StatementList is the answer of GET /sessions/{id}/statements.
type StatementList struct {
	TotalStatements int          `json:"total_statements"`
	Statements      []*Statement `json:"statements"`
}
