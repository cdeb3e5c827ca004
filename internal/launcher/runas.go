package launcher

import (
	"os"
	"os/user"
	"strconv"
	"strings"
)

// MinOwnAccountUID is the lowest uid an impersonated user's own OS account may have for an
// application to run as it (Hadoop's LinuxContainerExecutor's min.user.id): system accounts
// (daemons, root) are never used; their applications run as AppUser.
const MinOwnAccountUID = 1000

// nobodyUID is the overflow uid, nobody's, an account shared by whatever runs unprivileged.
const nobodyUID = 65534

// runAs is the OS user the application of argv (a command of Command's) runs as with AppUser:
// with ProxyUserAccounts, its proxy user's own OS account when one exists, as Hadoop's
// LinuxContainerExecutor does — of a uid of at least MinOwnAccountUID, and not the gateway's —
// and AppUser otherwise.
func (l *Launcher) runAs(argv []string) string {
	if !l.cfg.ProxyUserAccounts {
		return l.cfg.AppUser
	}
	// the options, up to the application's file: what follows it is the user's arguments
	for i := 1; i < len(argv) && strings.HasPrefix(argv[i], "--"); i++ {
		if proxy, ok := strings.CutPrefix(argv[i], "--proxy-user="); ok && ownAccount(proxy) {
			return proxy
		}
	}
	return l.cfg.AppUser
}

// ownAccount reports whether name is an OS account an application may run as.
func ownAccount(name string) bool {
	u, err := user.Lookup(name)
	if err != nil {
		return false
	}
	uid, err := strconv.Atoi(u.Uid)
	return err == nil && uid >= MinOwnAccountUID && uid != nobodyUID && uid != os.Getuid()
}
