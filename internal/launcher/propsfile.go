package launcher

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/sparkgate/sparkgate/internal/supervisor"
)

// propertiesFile is where an application's settings go, in its directory.
const propertiesFile = "spark-submit.properties"

// confOutOfArgv moves argv's --conf settings into a 0600 properties file of the application's
// directory dir and names it with --properties-file: a command line is every local user's to
// read (ps, /proc), and a conf value may be a secret. A properties file replaces
// spark-defaults.conf, so the file starts with the defaults' lines. argv is spark-submit's, or
// a wrapper's that runs what follows its "--" (standalone-submit over RPC).
func (l *Launcher) confOutOfArgv(dir string, argv []string) ([]string, error) {
	if sep := slices.Index(argv, "--"); sep >= 0 && sep+1 < len(argv) {
		inner, err := l.confOutOfArgv(dir, argv[sep+1:])
		return append(slices.Clone(argv[:sep+1]), inner...), err
	}
	var conf []string
	out := []string{argv[0]}
	i := 1
	for ; i < len(argv) && strings.HasPrefix(argv[i], "--"); i++ { // options, up to the application's file
		if kv, ok := strings.CutPrefix(argv[i], "--conf="); ok {
			conf = append(conf, kv)
		} else {
			out = append(out, argv[i])
		}
	}
	if len(conf) == 0 {
		return argv, nil
	}
	var props strings.Builder
	path := filepath.Join(dir, propertiesFile)
	if err := l.writeDefaults(&props); err != nil {
		return nil, err
	}
	props.WriteString("\n# the application's settings (sparkgate)\n")
	for _, kv := range conf {
		k, v, _ := strings.Cut(kv, "=")
		fmt.Fprintf(&props, "%s=%s\n", escapePropertyKey(k), escapeProperty(v))
	}
	if err := supervisor.WriteFileAtomic(path, []byte(props.String())); err != nil {
		return nil, fmt.Errorf("write the application's properties: %w", err)
	}
	out = append(out, "--properties-file="+path)
	return append(out, argv[i:]...), nil
}

// writeDefaults copies the spark-defaults.conf spark-submit would read.
func (l *Launcher) writeDefaults(w *strings.Builder) error {
	dir := l.SparkConfDir()
	if dir == "" {
		return nil
	}
	b, err := os.ReadFile(filepath.Join(dir, "spark-defaults.conf"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read spark-defaults.conf: %w", err)
	}
	w.Write(b)
	return nil
}

// escapeProperty escapes a value for a Java properties file.
func escapeProperty(v string) string {
	v = strings.NewReplacer(`\`, `\\`, "\n", `\n`, "\r", `\r`).Replace(v)
	if strings.HasPrefix(v, " ") || strings.HasPrefix(v, "\t") {
		v = `\` + v // leading blanks would be dropped
	}
	return v
}

// escapePropertyKey escapes a key: what ends a key (=, :, blanks) and what starts a comment.
func escapePropertyKey(k string) string {
	return strings.NewReplacer(`\`, `\\`, "=", `\=`, ":", `\:`, " ", `\ `, "\t", `\t`, "#", `\#`, "!", `\!`).Replace(k)
}
