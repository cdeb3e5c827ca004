package access

import (
	"bufio"
	"fmt"
	"os"
	"strings"
)

// ReadGroups reads a static group file: lines of "group: user, user …"; blank lines and #
// comments are skipped.
func ReadGroups(path string) (map[string][]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("group file: %w", err)
	}
	defer f.Close()
	groups := map[string][]string{}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		group, members, ok := strings.Cut(line, ":")
		if group = strings.TrimSpace(group); !ok || group == "" {
			return nil, fmt.Errorf("group file %s:%d: want group: user, user …", path, n)
		}
		for _, m := range strings.Split(members, ",") {
			if m = strings.TrimSpace(m); m != "" {
				groups[group] = append(groups[group], m)
			}
		}
	}
	return groups, sc.Err()
}
