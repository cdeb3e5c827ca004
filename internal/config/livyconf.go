package config

import (
	"bufio"
	"cmp"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Livy's own configuration files: livy.conf, whose livy.* keys that have a meaning here become
// settings (each warned about when it has none), and spark-blacklist.conf beside it.

// livyFile is a livy.conf read: the settings its keys become (flag name and value), in the
// file's order, and what to tell the operator of the rest.
type livyFile struct {
	settings [][2]string
	notes    []string
}

// livySetting turns one livy.* value into settings; nil for a key that only affects others
// (read by a later entry of livyKeys).
type livySetting func(v string, all map[string]string) ([][2]string, error)

func as(flagName string) livySetting {
	return func(v string, _ map[string]string) ([][2]string, error) { return [][2]string{{flagName, v}}, nil }
}

func asBool(flagName string) livySetting {
	return func(v string, _ map[string]string) ([][2]string, error) {
		b, err := livyBool(v)
		if err != nil {
			return nil, err
		}
		return [][2]string{{flagName, strconv.FormatBool(b)}}, nil
	}
}

// livyBool reads a boolean as Livy does: true or false, in any case.
func livyBool(v string) (bool, error) {
	b, err := strconv.ParseBool(strings.ToLower(v))
	if err != nil {
		return false, fmt.Errorf("%q is not true or false", v)
	}
	return b, nil
}

func asDuration(flagName string) livySetting {
	return func(v string, _ map[string]string) ([][2]string, error) {
		d, err := livyDuration(v)
		if err != nil {
			return nil, err
		}
		return [][2]string{{flagName, d.String()}}, nil
	}
}

// livyKeys are the keys of livy.conf that have a sparkgate meaning (LivyConf.scala's names).
var livyKeys = map[string]livySetting{
	"livy.server.host":                         livyAddr,
	"livy.server.port":                         livyAddr,
	"livy.rsc.launcher.address":                as("advertise-addr"), // where drivers connect back
	"livy.server.spark-home":                   as("spark-home"),
	"livy.spark.master":                        as("spark-master"),
	"livy.spark.deploy-mode":                   as("spark-deploy-mode"),
	"livy.file.local-dir-whitelist":            as("local-dir-whitelist"),
	"livy.file.upload.max.size":                as("max-upload-bytes"),
	"livy.server.session.timeout":              livyIdleTimeout,
	"livy.server.session.timeout-check":        livyIdleTimeout,
	"livy.server.session.ttl":                  livyTTL,
	"livy.server.session.ttl-check":            livyTTL,
	"livy.server.session.state-retain.sec":     asDuration("retain-finished"),
	"livy.impersonation.enabled":               asBool("impersonation"),
	"livy.superusers":                          as("superusers"),
	"livy.server.access-control.enabled":       asBool("access-control"),
	"livy.server.access-control.allowed-users": as("allowed-users"),
	"livy.server.access-control.view-users":    as("view-users"),
	"livy.server.access-control.modify-users":  as("modify-users"),
	"livy.server.csrf-protection.enabled":      asBool("csrf-protection"),
	"livy.server.auth.type": func(v string, _ map[string]string) ([][2]string, error) {
		if t := strings.ToLower(v); t == "kerberos" || t == "ldap" {
			return [][2]string{{"auth", t}}, nil
		}
		return nil, fmt.Errorf("%q: custom authentication filters are Java classes, which sparkgate cannot load; its --auth takes none, basic, ldap, kerberos or jwt", v)
	},
	"livy.server.auth.kerberos.principal":          as("kerberos-principal"),
	"livy.server.auth.kerberos.keytab":             as("kerberos-keytab"),
	"livy.server.auth.ldap.url":                    as("ldap-url"),
	"livy.server.auth.ldap.base-dn":                as("ldap-base-dn"),
	"livy.server.auth.ldap.username-domain":        as("ldap-domain"),
	"livy.server.auth.ldap.enable-start-tls":       asBool("ldap-start-tls"),
	"livy.server.launch.kerberos.principal":        as("launch-kerberos-principal"),
	"livy.server.launch.kerberos.keytab":           as("launch-kerberos-keytab"),
	"livy.server.launch.kerberos.refresh-interval": asDuration("launch-kerberos-refresh-interval"),
	"livy.server.yarn.poll-interval":               asDuration("cluster-poll-interval"),
	"livy.server.yarn.app-leakage.check-interval":  asDuration("leak-check-interval"),
	"livy.server.yarn.app-leakage.check-timeout":   asDuration("leak-check-grace"),
	"livy.server.session.allow-custom-classpath": func(v string, _ map[string]string) ([][2]string, error) {
		if b, err := livyBool(v); err != nil || !b {
			return nil, err
		}
		return [][2]string{{"spark-conf-allowed", "spark.driver.extraClassPath,spark.executor.extraClassPath"}}, nil
	},
}

// livyAsIs are keys whose value is what sparkgate does anyway; anything else is noted.
var livyAsIs = map[string]string{
	"livy.server.auth.kerberos.name-rules":          "DEFAULT",
	"livy.server.auth.ldap.security-authentication": "simple",
	"livy.server.security-headers.enabled":          "true",
	"livy.ui.enabled":                               "true",
}

// livyRecovery are Livy's recovery keys: recovery is always on here.
var livyRecovery = regexp.MustCompile(`^livy\.server\.(recovery\.|zookeeper\.|zk\.)`)

// livyAddr is livy.server.host and livy.server.port together: Livy's default host is every
// interface, its default port 8998.
func livyAddr(_ string, all map[string]string) ([][2]string, error) {
	host, port := cmp.Or(all["livy.server.host"], "0.0.0.0"), cmp.Or(all["livy.server.port"], "8998")
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return nil, fmt.Errorf("livy.server.port %q is not a port", port)
	}
	return [][2]string{{"addr", net.JoinHostPort(host, port)}}, nil
}

// livyIdleTimeout is livy.server.session.timeout, off when livy.server.session.timeout-check
// is false.
func livyIdleTimeout(_ string, all map[string]string) ([][2]string, error) {
	if check, ok := all["livy.server.session.timeout-check"]; ok && strings.EqualFold(check, "false") {
		return [][2]string{{"session-idle-timeout", "0s"}}, nil
	}
	d, err := livyDuration(cmp.Or(all["livy.server.session.timeout"], "1h"))
	if err != nil {
		return nil, err
	}
	return [][2]string{{"session-idle-timeout", d.String()}}, nil
}

// livyTTL is livy.server.session.ttl (8 h by default), only when livy.server.session.ttl-check
// is true.
func livyTTL(_ string, all map[string]string) ([][2]string, error) {
	if !strings.EqualFold(all["livy.server.session.ttl-check"], "true") {
		return nil, nil
	}
	d, err := livyDuration(cmp.Or(all["livy.server.session.ttl"], "8h"))
	if err != nil {
		return nil, err
	}
	return [][2]string{{"session-ttl", d.String()}}, nil
}

var livyTime = regexp.MustCompile(`^([0-9]+)\s*(us|ms|s|m|min|h|d)?$`)

// livyDuration reads a time as Livy does (JavaUtils.timeStringAs): a number with a unit of us,
// ms, s, m or min, h or d, or milliseconds without one.
func livyDuration(v string) (time.Duration, error) {
	m := livyTime.FindStringSubmatch(strings.ToLower(strings.TrimSpace(v)))
	if m == nil {
		return 0, fmt.Errorf("%q is not a time such as 600s, 10m or 1h", v)
	}
	n, err := strconv.ParseInt(m[1], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%q: %w", v, err)
	}
	unit := map[string]time.Duration{"": time.Millisecond, "us": time.Microsecond, "ms": time.Millisecond, "s": time.Second,
		"m": time.Minute, "min": time.Minute, "h": time.Hour, "d": 24 * time.Hour}[m[2]]
	return time.Duration(n) * unit, nil
}

// readLivyConf reads a livy.conf: Java properties of "key = value", "key: value" or "key value"
// lines, with # and ! comments.
func readLivyConf(path string) (*livyFile, error) {
	all, order, err := readProperties(path)
	if err != nil {
		return nil, fmt.Errorf("livy conf: %w", err)
	}
	out := &livyFile{}
	done := map[string]bool{}
	for _, key := range order {
		v := all[key]
		switch to, known := livyKeys[key]; {
		case known:
			settings, err := to(v, all)
			if err != nil {
				return nil, fmt.Errorf("livy conf %s: %s: %w", path, key, err)
			}
			for _, s := range settings {
				if !done[s[0]] {
					done[s[0]] = true
					out.settings = append(out.settings, s)
				}
			}
		case livyAsIs[key] != "":
			if !strings.EqualFold(v, livyAsIs[key]) {
				out.notes = append(out.notes, fmt.Sprintf("%s = %s is not supported: sparkgate does as %s", key, v, livyAsIs[key]))
			}
		case livyRecovery.MatchString(key):
			out.notes = append(out.notes, fmt.Sprintf("%s is not needed: recovery is always on in sparkgate, every session kept in --store (the embedded one in --data-dir, or PostgreSQL)", key))
		case strings.HasPrefix(key, "livy.keystore") || key == "livy.key-password":
			out.notes = append(out.notes, fmt.Sprintf("%s is not supported: sparkgate reads PEM files, --tls-cert and --tls-key (from a keystore: keytool -importkeystore -deststoretype PKCS12, then openssl pkcs12 -nodes)", key))
		default:
			out.notes = append(out.notes, fmt.Sprintf("%s has no meaning in sparkgate and is ignored", key))
		}
	}
	return out, nil
}

// readSparkBlacklist reads Livy's spark-blacklist.conf: a conf key a line, # comments; none
// when there is no such file.
func readSparkBlacklist(path string) ([]string, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var keys []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if line := strings.TrimSpace(sc.Text()); line != "" && !strings.HasPrefix(line, "#") && !slices.Contains(keys, line) {
			keys = append(keys, line)
		}
	}
	return keys, sc.Err()
}

// readProperties reads the key/value lines of a Java properties file; a later line wins.
func readProperties(path string) (map[string]string, []string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	all := map[string]string{}
	var order []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' || line[0] == '!' {
			continue
		}
		i := strings.IndexAny(line, "=: \t")
		key, value := line, ""
		if i >= 0 {
			key, value = line[:i], strings.TrimSpace(line[i:])
			if value != "" && (value[0] == '=' || value[0] == ':') {
				value = strings.TrimSpace(value[1:])
			}
		}
		if _, seen := all[key]; !seen {
			order = append(order, key)
		}
		all[key] = strings.Trim(value, `"`)
	}
	return all, order, sc.Err()
}

// livyConfPath is the livy.conf to read: the one named, or $LIVY_CONF_DIR/livy.conf when
// present.
func livyConfPath(named string, getenv func(string) string) string {
	if named != "" {
		return named
	}
	if dir := getenv("LIVY_CONF_DIR"); dir != "" {
		if p := filepath.Join(dir, "livy.conf"); fileExists(p) {
			return p
		}
	}
	return ""
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// readLivy applies the livy.conf at path (none when empty) to fs, but for the settings that
// overridden says another source sets, notes what it cannot apply, and returns the keys of
// the spark-blacklist.conf beside it.
func (c *Config) readLivy(fs *flag.FlagSet, path string, overridden func(string) bool) ([]string, error) {
	if path == "" {
		return nil, nil
	}
	lf, err := readLivyConf(path)
	if err != nil {
		return nil, err
	}
	for _, kv := range lf.settings {
		if overridden(kv[0]) {
			continue
		}
		if err := setting(fs, kv[0], kv[1], "livy conf "+path); err != nil {
			return nil, err
		}
	}
	for _, n := range lf.notes {
		c.Notes = append(c.Notes, "livy conf "+path+": "+n)
	}
	keys, err := readSparkBlacklist(filepath.Join(filepath.Dir(path), "spark-blacklist.conf"))
	if err != nil {
		return nil, fmt.Errorf("spark-blacklist.conf: %w", err)
	}
	return keys, nil
}

// fromFileValue is the value settings give key, if any.
func fromFileValue(settings [][2]string, key string) string {
	for _, kv := range settings {
		if kv[0] == key {
			return kv[1]
		}
	}
	return ""
}
