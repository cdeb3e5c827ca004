package yarn

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/sparkgate/sparkgate/internal/launcher"
)

// Start launches argv for tag. In cluster mode the driver runs in YARN's application master,
// which this host's environment does not reach: extraEnv (an interactive driver's settings)
// goes to it as spark.yarn.appMasterEnv.* in a properties file that only the gateway's user
// can read — not on spark-submit's command line, which every user of this host can see, and
// under keys Spark redacts in its UI when they name a secret. A properties file replaces
// spark-defaults.conf, so the file starts with the defaults' lines. Nor does the settings'
// secret go into this host's environment of spark-submit, which needs none of them.
func (b *Backend) Start(ctx context.Context, tag string, argv []string, extraEnv ...string) (int, error) {
	if len(extraEnv) == 0 || !launcher.ClusterMode(argv) {
		return b.Launcher.Start(ctx, tag, argv, extraEnv...)
	}
	d, err := b.Dir(tag)
	if err != nil {
		return 0, err
	}
	if err := os.MkdirAll(string(d), 0o750); err != nil {
		return 0, err
	}
	defaults, err := b.sparkDefaults()
	if err != nil {
		return 0, err
	}
	var props strings.Builder
	props.Write(defaults)
	props.WriteString("\n# the interactive driver's settings (sparkgate)\n")
	for _, kv := range extraEnv {
		k, v, _ := strings.Cut(kv, "=")
		fmt.Fprintf(&props, "spark.yarn.appMasterEnv.%s=%s\n", k, launcher.EscapeProperty(v))
	}
	path := filepath.Join(string(d), "driver.properties")
	if err := os.WriteFile(path, []byte(props.String()), 0o600); err != nil {
		return 0, fmt.Errorf("write the driver's properties: %w", err)
	}
	withFile := append([]string{argv[0], "--properties-file=" + path}, argv[1:]...)
	return b.Launcher.Start(ctx, tag, withFile)
}

// sparkDefaults reads the spark-defaults.conf spark-submit would read.
func (b *Backend) sparkDefaults() ([]byte, error) {
	dir := b.SparkConfDir()
	if dir == "" {
		return nil, nil
	}
	content, err := os.ReadFile(filepath.Join(dir, "spark-defaults.conf"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	return content, err
}
