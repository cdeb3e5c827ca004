package supervisor

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"unsafe"
)

// AppUser is the OS user an application runs as instead of the supervisor's own (the
// gateway's), and the working directory of its own it runs in.
//
// The supervisor stays the gateway's user and keeps the directory protocol (lock, started,
// exit.json) in the application directory, which the application's user can neither write nor
// enter. It starts the application through an exec stage of this binary (ExecApp) that runs
// as the application's user: it sheds every capability the gateway was given to switch users
// (an ambient capability would otherwise pass on to spark-submit and to user code), makes the
// working directory its own, takes the files handed to it, and execs spark-submit.
type AppUser struct {
	Name string
	// WorkDir is the application's own working directory, made by ExecApp (0700, owned by
	// the application's user) in a parent the application's user may create entries in.
	WorkDir string
}

// Args are the supervise flags that run the application as a.
func (a *AppUser) Args() []string {
	return []string{"--app-user", a.Name, "--app-work", a.WorkDir}
}

// credential is who the application runs as: a's user, its primary group and its groups.
func (a *AppUser) credential() (*syscall.Credential, error) {
	u, err := user.Lookup(a.Name)
	if err != nil {
		return nil, fmt.Errorf("app user %q: %w", a.Name, err)
	}
	uid, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("app user %q: uid %q: %w", a.Name, u.Uid, err)
	}
	gid, err := strconv.ParseUint(u.Gid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("app user %q: gid %q: %w", a.Name, u.Gid, err)
	}
	if uid == 0 {
		return nil, fmt.Errorf("app user %q is root", a.Name)
	}
	cred := &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	ids, err := u.GroupIds()
	if err != nil {
		return nil, fmt.Errorf("app user %q: groups: %w", a.Name, err)
	}
	for _, id := range ids {
		if g, err := strconv.ParseUint(id, 10, 32); err == nil && g != gid {
			cred.Groups = append(cred.Groups, uint32(g))
		}
	}
	return cred, nil
}

// execStage is the command that runs argv as a through ExecApp, and the files it is handed:
// every argument and environment value that names a regular file directly in d (such as the
// --properties-file of the application's settings, or an interactive driver's secret) is
// opened here, by the gateway's user, and passed on as an inherited descriptor; ExecApp copies
// it into the working directory, private to the application's user.
func (a *AppUser) execStage(d Dir, argv []string) (*exec.Cmd, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cred, err := a.credential()
	if err != nil {
		return nil, err
	}
	args := []string{"supervise", "--exec-app", "--dir", string(d), "--app-work", a.WorkDir}
	var files []*os.File
	seen := map[string]bool{}
	for _, v := range append(append([]string{}, argv...), os.Environ()...) {
		name := handedOver(d, v)
		if name == "" || seen[name] {
			continue
		}
		f, err := os.Open(d.path(name))
		if err != nil {
			closeAll(files)
			return nil, fmt.Errorf("hand %s to the application: %w", name, err)
		}
		seen[name] = true
		files = append(files, f)
		args = append(args, "--hand-over", name)
	}
	cmd := exec.Command(self, append(append(args, "--"), argv...)...)
	cmd.ExtraFiles = files
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	return cmd, nil
}

func closeAll(files []*os.File) {
	for _, f := range files {
		f.Close()
	}
}

// handedOver is the name of the file of d that value (a path, or --flag=path) names, or "".
func handedOver(d Dir, value string) string {
	if i := strings.IndexByte(value, '='); i >= 0 {
		value = value[i+1:]
	}
	if filepath.Dir(value) != string(d) {
		return ""
	}
	name := filepath.Base(value)
	switch name {
	case "lock", "started", "info.json", "exit.json", "output.log":
		return ""
	}
	if fi, err := os.Lstat(d.path(name)); err != nil || !fi.Mode().IsRegular() {
		return ""
	}
	return name
}

// ExecApp is the exec stage of an application run as another user (see AppUser): it runs as
// that user already, sheds all capabilities, makes work its own, writes the files handed to it
// (descriptors 3… in the order of handOver) into work, rewrites the arguments and environment
// values that named d or its files to work and the copies, and execs argv there. It returns
// only when something failed.
func ExecApp(d Dir, work string, handOver []string, argv []string) int {
	fail := func(err error) int {
		fmt.Fprintf(os.Stderr, "sparkgate: cannot start the application as its own user: %v\n", err)
		return 127
	}
	if len(argv) == 0 {
		return fail(errors.New("no command to run"))
	}
	// capabilities are a thread's: the thread that drops them is the one that execs
	runtime.LockOSThread()
	if err := dropCapabilities(); err != nil {
		return fail(err)
	}
	if err := ownDir(work); err != nil {
		return fail(err)
	}
	renames := []string{string(d), work}
	for i, name := range handOver {
		f := os.NewFile(uintptr(3+i), name)
		if f == nil {
			return fail(fmt.Errorf("%s was not handed over", name))
		}
		err := copyPrivate(f, filepath.Join(work, name))
		f.Close()
		if err != nil {
			return fail(err)
		}
		renames = append(renames, d.path(name), filepath.Join(work, name))
	}
	env := os.Environ()
	for i, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		env[i] = k + "=" + rewrite(v, renames)
	}
	argv = append([]string{}, argv...)
	for i := range argv {
		argv[i] = rewrite(argv[i], renames)
	}
	env = append(env, identityEnv(work)...)
	if err := os.Chdir(work); err != nil {
		return fail(err)
	}
	path, err := exec.LookPath(argv[0])
	if err != nil {
		return fail(err)
	}
	return fail(syscall.Exec(path, argv, env))
}

// rewrite replaces a value (or the path of a --flag=path) that is one of renames' even entries
// by the entry after it.
func rewrite(v string, renames []string) string {
	prefix, path := "", v
	if i := strings.IndexByte(v, '='); i >= 0 && strings.HasPrefix(v, "--") {
		prefix, path = v[:i+1], v[i+1:]
	}
	for i := 0; i+1 < len(renames); i += 2 {
		if path == renames[i] {
			return prefix + renames[i+1]
		}
	}
	return v
}

// identityEnv is who the process is: USER, LOGNAME and HOME of its own user, not the
// gateway's; HOME is work when the user's home directory does not exist.
func identityEnv(work string) []string {
	home, name := work, strconv.Itoa(os.Getuid())
	if u, err := user.LookupId(name); err == nil {
		name = u.Username
		if fi, err := os.Stat(u.HomeDir); err == nil && fi.IsDir() {
			home = u.HomeDir
		}
	}
	return []string{"USER=" + name, "LOGNAME=" + name, "HOME=" + home}
}

// ownDir makes dir a directory of this process's user, 0700, or says why it cannot: a
// directory of that name made by anyone else (another application's user, in a parent all of
// them may create entries in) is refused, not used.
func ownDir(dir string) error {
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("make the working directory: %w", err)
	}
	fi, err := os.Lstat(dir)
	if err != nil {
		return err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !fi.IsDir() || !ok || int(st.Uid) != os.Getuid() {
		return fmt.Errorf("the working directory %s is not a directory of user %d", dir, os.Getuid())
	}
	return os.Chmod(dir, 0o700)
}

func copyPrivate(from io.Reader, path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	out, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, from); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// dropCapabilities empties this thread's capability sets, ambient ones first: a gateway given
// CAP_SETUID and CAP_SETGID (systemd's AmbientCapabilities) keeps them across a change between
// two users neither of which is root, and an ambient capability survives exec. It then checks
// that none is left.
func dropCapabilities() error {
	const prCapAmbient, prCapAmbientClearAll = 47, 4
	if _, _, e := syscall.RawSyscall6(syscall.SYS_PRCTL, prCapAmbient, prCapAmbientClearAll, 0, 0, 0, 0); e != 0 && e != syscall.EINVAL {
		return fmt.Errorf("clear ambient capabilities: %w", e)
	}
	hdr := struct {
		version uint32
		pid     int32
	}{version: 0x20080522} // _LINUX_CAPABILITY_VERSION_3
	var data [2]struct{ effective, permitted, inheritable uint32 }
	if _, _, e := syscall.RawSyscall(syscall.SYS_CAPSET, uintptr(unsafe.Pointer(&hdr)), uintptr(unsafe.Pointer(&data[0])), 0); e != 0 {
		return fmt.Errorf("drop capabilities: %w", e)
	}
	caps, err := capabilities("/proc/thread-self/status")
	if err != nil {
		return err
	}
	for _, set := range []string{"CapInh", "CapPrm", "CapEff", "CapAmb"} {
		if caps[set] != 0 {
			return fmt.Errorf("capabilities are left after dropping them: %s %x", set, caps[set])
		}
	}
	return nil
}

// capabilities reads the Cap* sets of a /proc status file.
func capabilities(statusFile string) (map[string]uint64, error) {
	f, err := os.Open(statusFile)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	caps := map[string]uint64{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok || !strings.HasPrefix(k, "Cap") {
			continue
		}
		n, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
		if err != nil {
			return nil, fmt.Errorf("%s: %s: %w", statusFile, k, err)
		}
		caps[k] = n
	}
	return caps, sc.Err()
}

// The capabilities a gateway with --app-user needs (capability(7) numbers).
const (
	capKill   = 5 // signal the applications of another user (DELETE, the kill of a group)
	capSetgid = 6
	capSetuid = 7
)

// CanRunAsOthers says, with the capability missing, why this process cannot run applications
// as another OS user; nil when it can.
func CanRunAsOthers() error {
	caps, err := capabilities("/proc/self/status")
	if err != nil {
		return fmt.Errorf("read this process's capabilities: %w", err)
	}
	var missing []string
	for _, c := range []struct {
		bit  uint
		name string
	}{{capSetuid, "CAP_SETUID"}, {capSetgid, "CAP_SETGID"}, {capKill, "CAP_KILL"}} {
		if caps["CapEff"]&(1<<c.bit) == 0 {
			missing = append(missing, c.name)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("this process lacks %s: run sparkgate as root, or with systemd's AmbientCapabilities=CAP_SETUID CAP_SETGID CAP_KILL", strings.Join(missing, ", "))
	}
	return nil
}

// RemoveWorkDir removes an application's own working directory (AppUser.WorkDir). What the
// application made in it is its user's: a gateway that is not root removes it through a
// process of that user (RemoveOwnWorkDir), since it may not itself.
func RemoveWorkDir(dir string) error {
	fi, err := os.Lstat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok || os.Geteuid() == 0 || int(st.Uid) == os.Geteuid() || st.Uid == 0 || !fi.IsDir() {
		return os.RemoveAll(dir)
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	cmd := exec.Command(self, "supervise", "--remove-work", dir)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: st.Uid, Gid: st.Gid}}
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("remove %s as its owner: %w: %s", dir, err, strings.TrimSpace(string(out)))
	}
	return nil
}

// RemoveOwnWorkDir is the supervise --remove-work command of RemoveWorkDir, run as the owner
// of dir: without capabilities, it removes dir.
func RemoveOwnWorkDir(dir string) int {
	runtime.LockOSThread()
	if err := dropCapabilities(); err != nil {
		fmt.Fprintf(os.Stderr, "sparkgate supervise: %v\n", err)
		return ExitUsage
	}
	// its parent (1733) may not be read by its owner, which os.RemoveAll(dir) would: what is
	// in it goes first, then the empty directory
	entries, err := os.ReadDir(dir)
	for _, e := range entries {
		if err == nil {
			err = os.RemoveAll(filepath.Join(dir, e.Name()))
		}
	}
	if err == nil {
		err = syscall.Rmdir(dir)
	}
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		fmt.Fprintf(os.Stderr, "sparkgate supervise: remove %s: %v\n", dir, err)
		return ExitUsage
	}
	return ExitOK
}
