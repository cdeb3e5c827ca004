// Package version reports what build of sparkgate this is.
package version

import (
	"runtime/debug"
	"sync"
)

// Version is set at build time with -ldflags "-X github.com/sparkgate/sparkgate/internal/version.Version=...".
var Version = "0.1.0-dev"

// Info describes the build.
type Info struct {
	Version  string
	Revision string
	Date     string
	Modified bool
}

var (
	once sync.Once
	info Info
)

// Get returns the build's version, and the VCS revision and date Go recorded in the binary.
func Get() Info {
	once.Do(func() {
		info.Version = Version
		if bi, ok := debug.ReadBuildInfo(); ok {
			for _, s := range bi.Settings {
				switch s.Key {
				case "vcs.revision":
					info.Revision = s.Value
				case "vcs.time":
					info.Date = s.Value
				case "vcs.modified":
					info.Modified = s.Value == "true"
				}
			}
		}
	})
	return info
}
