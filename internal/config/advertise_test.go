package config

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The address peers and drivers reach an instance by: the listened one, unless that is every
// interface (which nobody can dial), then the host's name with the listened port; a given
// host without a port takes the listened port.
func TestAdvertisedAddressDefaults(t *testing.T) {
	host, _ := os.Hostname()
	cases := []struct {
		args            []string
		advertised, url string
	}{
		{nil, "127.0.0.1:8998", "http://127.0.0.1:8998"},
		{[]string{"--addr", "10.1.2.3:9000"}, "10.1.2.3:9000", "http://10.1.2.3:9000"},
		{[]string{"--addr", "0.0.0.0:8998"}, host + ":8998", "http://" + host + ":8998"},
		{[]string{"--addr", "[::]:8998"}, host + ":8998", "http://" + host + ":8998"},
		{[]string{"--addr", ":8998"}, host + ":8998", "http://" + host + ":8998"},
		{[]string{"--addr", "0.0.0.0:8998", "--advertise-addr", "gw1.example.com:7000"}, "gw1.example.com:7000", "http://gw1.example.com:7000"},
		{[]string{"--addr", "0.0.0.0:8998", "--advertise-addr", "gw1.example.com"}, "gw1.example.com:8998", "http://gw1.example.com:8998"},
		{[]string{"--addr", "0.0.0.0:8998", "--advertise-addr", "fd00::7"}, "[fd00::7]:8998", "http://[fd00::7]:8998"},
		{[]string{"--addr", "0.0.0.0:8998", "--driver-url", "https://lb:443"}, host + ":8998", "https://lb:443"},
	}
	for _, c := range cases {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			cfg, err := Load(append([]string{"--allow-unauthenticated"}, c.args...), func(string) string { return "" }, io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			if cfg.AdvertiseAddr != c.advertised || cfg.DriverURL != c.url {
				t.Errorf("advertise-addr %q, driver-url %q; want %q, %q", cfg.AdvertiseAddr, cfg.DriverURL, c.advertised, c.url)
			}
		})
	}
}

// An advertised address nobody else can dial is refused at start: a wildcard always; a
// loopback one in a fleet (a PostgreSQL store) only warns, as instances on one machine (tests,
// a single host) do reach each other there.
func TestAdvertisedAddressIsChecked(t *testing.T) {
	const fleet = "postgres://db/sparkgate"
	cases := []struct {
		args     []string
		err      string
		warnings int
	}{
		{[]string{"--advertise-addr", "0.0.0.0:8998"}, "advertise-addr 0.0.0.0:8998 is every interface", 0},
		{[]string{"--advertise-addr", "[::]:8998", "--store", fleet}, "advertise-addr [::]:8998 is every interface", 0},
		{[]string{"--advertise-addr", ":8998"}, "advertise-addr :8998 is every interface", 0},
		{[]string{"--advertise-addr", "gw1:port"}, "advertise-addr \"gw1:port\" must be host:port", 0},
		{[]string{"--advertise-addr", "gw1:70000", "--store", fleet}, "advertise-addr \"gw1:70000\" must be host:port", 0},
		{[]string{"--store", fleet}, "", 1}, // 127.0.0.1:8998 by default: peers elsewhere cannot reach it
		{[]string{"--advertise-addr", "localhost:8998", "--store", fleet}, "", 1},
		{[]string{"--advertise-addr", "gw1:8998", "--store", fleet}, "", 0},
		{nil, "", 0}, // one instance on loopback: nobody else to reach it
	}
	for _, c := range cases {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			cfg, err := Load(append([]string{"--allow-unauthenticated"}, c.args...), func(string) string { return "" }, io.Discard)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("err = %v, want it to contain %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(cfg.Notes) != c.warnings {
				t.Errorf("notes %q, want %d", cfg.Notes, c.warnings)
			}
		})
	}
}

// livy.rsc.launcher.address, the address Livy's drivers connect back to, is the advertised
// host; the port is the listened one.
func TestLivyLauncherAddressIsAdvertised(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "livy.conf")
	os.WriteFile(conf, []byte("livy.server.host = 0.0.0.0\nlivy.server.port = 8999\nlivy.rsc.launcher.address = gw1.example.com\n"), 0o600)
	cfg, err := Load([]string{"--livy-conf", conf, "--allow-unauthenticated"}, func(string) string { return "" }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.AdvertiseAddr != "gw1.example.com:8999" {
		t.Errorf("advertise-addr = %q, want gw1.example.com:8999", cfg.AdvertiseAddr)
	}
}
