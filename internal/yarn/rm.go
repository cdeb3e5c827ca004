package yarn

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Application is what the ResourceManager's REST API tells of one application
// (GET /ws/v1/cluster/apps).
type Application struct {
	ID              string `json:"id"`
	State           string `json:"state"`       // NEW … RUNNING, FINISHED, FAILED, KILLED
	FinalStatus     string `json:"finalStatus"` // UNDEFINED, SUCCEEDED, FAILED, KILLED
	TrackingURL     string `json:"trackingUrl"`
	Diagnostics     string `json:"diagnostics"`
	AMContainerLogs string `json:"amContainerLogs"`
	ApplicationTags string `json:"applicationTags"`
	StartedTime     int64  `json:"startedTime"`
}

// Tags are the application's tags (the RM keeps them lower-cased, comma-separated).
func (a *Application) Tags() []string { return strings.Split(a.ApplicationTags, ",") }

// activeStates are the states of an application the RM has not finished with.
const activeStates = "NEW,NEW_SAVING,SUBMITTED,ACCEPTED,RUNNING"

func active(state string) bool {
	return state != "" && slices.Contains(strings.Split(activeStates, ","), state)
}

// ResourceManager is a client of one ResourceManager's REST API.
type ResourceManager struct {
	base string
	http *http.Client
}

// NewResourceManager returns a client of the RM whose web address is base (http://host:port).
// Its requests, and those to the NodeManagers, go through transport (http.DefaultTransport
// when nil; kinit.SPNEGO on a kerberized cluster).
func NewResourceManager(base string, transport http.RoundTripper) *ResourceManager {
	return &ResourceManager{base: strings.TrimRight(base, "/"), http: &http.Client{Timeout: 10 * time.Second, Transport: transport}}
}

// URL is the RM's web address.
func (rm *ResourceManager) URL() string { return rm.base }

// Apps lists the applications the query selects (applicationTags, states, …).
func (rm *ResourceManager) Apps(ctx context.Context, query url.Values) ([]Application, error) {
	var body struct {
		Apps *struct {
			App []Application `json:"app"`
		} `json:"apps"`
	}
	if err := rm.call(ctx, http.MethodGet, "/ws/v1/cluster/apps?"+query.Encode(), nil, &body); err != nil {
		return nil, err
	}
	if body.Apps == nil { // the RM answers {"apps":null} when nothing matches
		return nil, nil
	}
	return body.Apps.App, nil
}

// Kill asks the RM to kill application id; the RM answers at once and kills it in the
// background.
func (rm *ResourceManager) Kill(ctx context.Context, id string) error {
	return rm.call(ctx, http.MethodPut, "/ws/v1/cluster/apps/"+url.PathEscape(id)+"/state", map[string]string{"state": "KILLED"}, nil)
}

func (rm *ResourceManager) call(ctx context.Context, method, path string, in, out any) error {
	var rd io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, rm.base+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := rm.http.Do(req)
	if err != nil {
		return fmt.Errorf("ResourceManager %s: %w", rm.base, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("ResourceManager %s %s %s: %s: %s", rm.base, method, path, resp.Status, bytes.TrimSpace(b))
	}
	if out == nil {
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("ResourceManager %s %s: decode: %w", rm.base, path, err)
	}
	return nil
}

// WebAddress finds the ResourceManager's web address as spark-submit's Hadoop client would:
// yarn.resourcemanager.webapp.address, else yarn.resourcemanager.hostname with port 8088, in
// yarn-site.xml of YARN_CONF_DIR or HADOOP_CONF_DIR.
func WebAddress(getenv func(string) string) (string, error) {
	var tried []string
	for _, env := range []string{"YARN_CONF_DIR", "HADOOP_CONF_DIR"} {
		dir := getenv(env)
		if dir == "" {
			continue
		}
		path := filepath.Join(dir, "yarn-site.xml")
		props, err := readSite(path)
		if errors.Is(err, os.ErrNotExist) {
			tried = append(tried, path)
			continue
		}
		if err != nil {
			return "", err
		}
		if addr := props["yarn.resourcemanager.webapp.address"]; addr != "" && !strings.Contains(addr, "${") {
			return "http://" + addr, nil
		}
		if host := props["yarn.resourcemanager.hostname"]; host != "" {
			return "http://" + host + ":8088", nil
		}
		return "", fmt.Errorf("%s names no ResourceManager (yarn.resourcemanager.webapp.address or yarn.resourcemanager.hostname)", path)
	}
	if len(tried) == 0 {
		return "", errors.New("no YARN_CONF_DIR or HADOOP_CONF_DIR: set one to the directory of yarn-site.xml, or give --yarn-rm-url")
	}
	return "", fmt.Errorf("no yarn-site.xml in %s: give --yarn-rm-url", strings.Join(tried, ", "))
}

// readSite reads the properties of a Hadoop *-site.xml file.
func readSite(path string) (map[string]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var conf struct {
		Properties []struct {
			Name  string `xml:"name"`
			Value string `xml:"value"`
		} `xml:"property"`
	}
	if err := xml.Unmarshal(b, &conf); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	props := map[string]string{}
	for _, p := range conf.Properties {
		props[strings.TrimSpace(p.Name)] = strings.TrimSpace(p.Value)
	}
	return props, nil
}
