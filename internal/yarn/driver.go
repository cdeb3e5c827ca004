package yarn

import (
	"context"

	"github.com/sparkgate/sparkgate/internal/launcher"
)

// Start launches argv for tag. In cluster mode the driver runs in YARN's application master,
// which this host's environment does not reach: extraEnv (an interactive driver's settings)
// goes to it as spark.yarn.appMasterEnv.* conf, which the launcher writes into the private
// properties file of every application (never on a command line), under keys Spark redacts
// in its UI when they name a secret. Nor does the settings' secret go into this host's
// environment of spark-submit, which needs none of them.
func (b *Backend) Start(ctx context.Context, tag string, argv []string, extraEnv ...string) (int, error) {
	if len(extraEnv) == 0 || !launcher.ClusterMode(argv) {
		return b.Launcher.Start(ctx, tag, argv, extraEnv...)
	}
	withEnv := []string{argv[0]}
	for _, kv := range extraEnv {
		withEnv = append(withEnv, "--conf=spark.yarn.appMasterEnv."+kv)
	}
	return b.Launcher.Start(ctx, tag, append(withEnv, argv[1:]...))
}
