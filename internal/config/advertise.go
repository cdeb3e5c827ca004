package config

import (
	"fmt"
	"net"
	"strconv"
	"strings"
)

// The address an instance listens on (--addr) and the one it tells others (--advertise-addr)
// differ when it listens on every interface: peers forward calls to, and drivers dial, the
// advertised one, which must name this host.

// wildcard reports whether host is every interface: empty, 0.0.0.0 or ::.
func wildcard(host string) bool {
	ip := net.ParseIP(host)
	return host == "" || (ip != nil && ip.IsUnspecified())
}

// advertisedAddr is the address peers and drivers reach this instance by: advertise when given
// (a host alone takes the listened port), else listen, or hostname with the listened port when
// listen is every interface. A listen address that is not host:port is left to Validate.
func advertisedAddr(listen, advertise, hostname string) string {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return advertise
	}
	switch {
	case advertise == "" && wildcard(host):
		return net.JoinHostPort(hostname, port)
	case advertise == "":
		return listen
	}
	if net.ParseIP(advertise) != nil || !strings.Contains(advertise, ":") { // a host alone
		return net.JoinHostPort(advertise, port)
	}
	return advertise
}

// checkAdvertised refuses an advertised address nobody can dial, and says (a note) when peers
// on other hosts cannot: a loopback address in a fleet (a shared store) still serves instances
// on one machine, as tests and single-host fleets run them.
func checkAdvertised(addr string, fleet bool) (note string, err error) {
	host, port, err := net.SplitHostPort(addr)
	if _, perr := strconv.ParseUint(port, 10, 16); err != nil || perr != nil { // 0: the listener's port (tests)
		return "", fmt.Errorf("advertise-addr %q must be host:port, the address by which peers and drivers reach this instance", addr)
	}
	if wildcard(host) {
		return "", fmt.Errorf("advertise-addr %s is every interface, which peers and drivers cannot dial: give this host's name or address (--advertise-addr host:port)", addr)
	}
	if fleet && loopback(addr) {
		return fmt.Sprintf("advertise-addr %s is a loopback address: only instances on this machine can forward calls here; with peers on other hosts give --advertise-addr this host's name", addr), nil
	}
	return "", nil
}
