package slurmtest

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"text/template"
	"time"
)

// NodeName is the name of the cluster's only node.
const NodeName = "node0"

// PartitionName is the name of the cluster's only partition, the default one.
const PartitionName = "test"

// NoArray is the index under which [Cluster.TaskStates] reports a job that is not an array job.
const NoArray = -1

// Options configures [Start]. The zero value is a usable configuration.
type Options struct {
	// CPUs is the node's CPU count; 0 means runtime.NumCPU().
	CPUs int
	// StartTimeout bounds how long Start waits for the node to become idle; 0 means 30 seconds.
	StartTimeout time.Duration
}

// Cluster is a running single-node Slurm cluster. Its daemons are stopped, and its jobs killed, by
// the cleanup Start registers on the test.
type Cluster struct {
	// Dir is the cluster's temporary directory: munge key and socket, slurm.conf, state, spool and
	// logs. Tests may put job scripts and outputs in it; it is readable by the job's user.
	Dir string
	// Conf is the path of slurm.conf, which client commands read through SLURM_CONF.
	Conf string
	// User is the user the daemons and jobs run as (SlurmUser).
	User string

	t        testing.TB
	procs    []*daemon
	reaper   *exec.Cmd
	reaperIn io.WriteCloser
}

// daemon is one background process owned by the cluster, in its own process group.
type daemon struct {
	name string
	cmd  *exec.Cmd
	done chan struct{}
}

// commands are the programs a cluster needs, each with the Debian package that holds it.
var commands = []struct{ name, pkg string }{
	{"munged", "munge"},
	{"slurmctld", "slurm-wlm (slurmctld)"},
	{"slurmd", "slurm-wlm (slurmd)"},
	{"sbatch", "slurm-wlm (slurm-client)"},
	{"squeue", "slurm-wlm (slurm-client)"},
	{"scontrol", "slurm-wlm (slurm-client)"},
	{"scancel", "slurm-wlm (slurm-client)"},
	{"sinfo", "slurm-wlm (slurm-client)"},
}

// lookPath finds a program on PATH or in the sbin directories a non-root PATH often lacks.
func lookPath(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	for _, dir := range []string{"/usr/sbin", "/usr/local/sbin", "/sbin"} {
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", exec.ErrNotFound
}

// Start starts a single-node Slurm cluster on 127.0.0.1 and waits until its node is idle. It skips
// the test when the Slurm or munge programs are missing, and fails it when the cluster does not come
// up, with the daemons' logs in the message. The cluster is stopped in t.Cleanup.
func Start(t testing.TB, opts Options) *Cluster {
	t.Helper()
	paths := map[string]string{}
	for _, c := range commands {
		p, err := lookPath(c.name)
		if err != nil {
			t.Skipf("slurmtest: %s not found: install the Debian package %s (apt-get install slurm-wlm munge)", c.name, c.pkg)
		}
		paths[c.name] = p
	}
	u, err := user.Current()
	if err != nil {
		t.Fatalf("slurmtest: current user: %v", err)
	}
	host, err := os.Hostname()
	if err != nil {
		t.Fatalf("slurmtest: hostname: %v", err)
	}
	// slurmctld only runs on a host named in SlurmctldHost, compared with the short host name.
	host, _, _ = strings.Cut(host, ".")

	// A short directory: munge's socket path must fit in sun_path (108 bytes).
	dir, err := os.MkdirTemp("", "slurmtest-")
	if err != nil {
		t.Fatalf("slurmtest: %v", err)
	}
	// Jobs run as the user and slurmd reads the job's working directory: make the directory searchable.
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatalf("slurmtest: %v", err)
	}
	c := &Cluster{Dir: dir, Conf: filepath.Join(dir, "slurm.conf"), User: u.Username, t: t}
	t.Cleanup(c.stop)
	if err := c.startReaper(); err != nil {
		t.Fatalf("slurmtest: %v", err)
	}

	if err := c.writeConfig(host, opts); err != nil {
		t.Fatalf("slurmtest: %v", err)
	}
	if err := c.startMunge(paths["munged"]); err != nil {
		t.Fatalf("slurmtest: %v\n%s", err, c.Logs())
	}
	c.startDaemon("slurmctld", paths["slurmctld"], "-D", "-f", c.Conf)
	c.startDaemon("slurmd", paths["slurmd"], "-D", "-f", c.Conf, "-N", NodeName)

	timeout := opts.StartTimeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	if err := c.waitIdle(timeout); err != nil {
		t.Fatalf("slurmtest: %v\n%s", err, c.Logs())
	}
	return c
}

// freePorts returns n distinct TCP ports that were free on 127.0.0.1 a moment ago.
func freePorts(n int) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("pick a free port: %w", err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

var confTemplate = template.Must(template.New("slurm.conf").Parse(`# slurm.conf written by agentlens internal/slurmtest: one node on loopback, everything in {{.Dir}}.
ClusterName=slurmtest
SlurmctldHost={{.Host}}(127.0.0.1)
SlurmctldPort={{.CtldPort}}
SlurmdPort={{.SlurmdPort}}
SlurmUser={{.User}}
SlurmdUser={{.User}}
AuthType=auth/munge
AuthInfo=socket={{.Dir}}/munge.socket
CredType=cred/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SchedulerType=sched/builtin
# Start batch jobs within a second of their submission (the default waits up to 3 s).
SchedulerParameters=batch_sched_delay=1
# Trust CPUs below over what slurmd finds, so Options.CPUs may exceed the machine's.
SlurmdParameters=config_overrides
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
StateSaveLocation={{.Dir}}/state
SlurmdSpoolDir={{.Dir}}/spool
SlurmctldPidFile={{.Dir}}/slurmctld.pid
SlurmdPidFile={{.Dir}}/slurmd.pid
SlurmctldLogFile={{.Dir}}/slurmctld.log
SlurmdLogFile={{.Dir}}/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
MailProg=/bin/true
ReturnToService=2
# Keep finished jobs' records (there is no accounting to ask instead).
MinJobAge=3600
SlurmctldTimeout=10
SlurmdTimeout=10
MessageTimeout=5
InactiveLimit=0
KillWait=2
NodeName={{.Node}} NodeAddr=127.0.0.1 CPUs={{.CPUs}} RealMemory=256 State=UNKNOWN
PartitionName={{.Partition}} Nodes={{.Node}} Default=YES MaxTime=INFINITE State=UP
`))

func (c *Cluster) writeConfig(host string, opts Options) error {
	for _, sub := range []string{"state", "spool"} {
		if err := os.Mkdir(filepath.Join(c.Dir, sub), 0o755); err != nil {
			return err
		}
	}
	ports, err := freePorts(2)
	if err != nil {
		return err
	}
	cpus := opts.CPUs
	if cpus <= 0 {
		cpus = runtime.NumCPU()
	}
	var buf bytes.Buffer
	err = confTemplate.Execute(&buf, map[string]any{
		"Dir": c.Dir, "Host": host, "CtldPort": ports[0], "SlurmdPort": ports[1], "User": c.User,
		"Node": NodeName, "Partition": PartitionName, "CPUs": cpus,
	})
	if err != nil {
		return fmt.Errorf("slurm.conf: %w", err)
	}
	return os.WriteFile(c.Conf, buf.Bytes(), 0o644)
}

func (c *Cluster) startMunge(munged string) error {
	key := make([]byte, 1024)
	f, err := os.Open("/dev/urandom")
	if err != nil {
		return fmt.Errorf("munge key: %w", err)
	}
	_, err = f.Read(key)
	f.Close()
	if err != nil {
		return fmt.Errorf("munge key: %w", err)
	}
	if err := os.WriteFile(filepath.Join(c.Dir, "munge.key"), key, 0o600); err != nil {
		return fmt.Errorf("munge key: %w", err)
	}
	// --force: munged refuses to run as root, and to use a socket directory it did not expect, without it.
	c.startDaemon("munged", munged, "--foreground", "--force",
		"--socket="+filepath.Join(c.Dir, "munge.socket"),
		"--key-file="+filepath.Join(c.Dir, "munge.key"),
		"--pid-file="+filepath.Join(c.Dir, "munged.pid"),
		"--seed-file="+filepath.Join(c.Dir, "munged.seed"))
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := os.Stat(filepath.Join(c.Dir, "munge.socket")); err == nil {
			return nil
		}
		if d := c.procs[len(c.procs)-1]; d.exited() {
			return fmt.Errorf("munged exited: %v", d.cmd.ProcessState)
		}
		if time.Now().After(deadline) {
			return errors.New("munged did not create its socket in 10s")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// marker is the environment variable that tags every process of a cluster, so cleanup can find
// the ones that escaped its process groups (slurmstepd and the jobs start sessions of their own).
const marker = "AGENTLENS_SLURMTEST_DIR"

func (c *Cluster) startDaemon(name, path string, args ...string) {
	cmd := exec.Command(path, args...)
	cmd.Dir = c.Dir
	cmd.Env = append(c.Env(), marker+"="+c.Dir)
	// The daemons run in the foreground and write some of their messages (munged: all) to stderr.
	out, err := os.Create(filepath.Join(c.Dir, name+".out"))
	if err != nil {
		c.t.Fatalf("slurmtest: start %s: %v", name, err)
	}
	defer out.Close()
	cmd.Stdout = out
	cmd.Stderr = out
	// Own process group, so cleanup kills the daemon's children too; and die with the test binary
	// even when it is killed before its cleanups run (go test -timeout).
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	d := &daemon{name: name, cmd: cmd, done: make(chan struct{})}
	if err := cmd.Start(); err != nil {
		c.t.Fatalf("slurmtest: start %s: %v", name, err)
	}
	c.procs = append(c.procs, d)
	go func() {
		cmd.Wait()
		close(d.done)
	}()
}

func (d *daemon) exited() bool {
	select {
	case <-d.done:
		return true
	default:
		return false
	}
}

// waitIdle waits until sinfo reports the node idle.
func (c *Cluster) waitIdle(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	var last string
	for {
		for _, d := range c.procs {
			if d.exited() {
				return fmt.Errorf("%s exited while the cluster started: %v", d.name, d.cmd.ProcessState)
			}
		}
		out, err := c.command("sinfo", "-h", "-n", NodeName, "-o", "%t")
		if err == nil {
			last = strings.TrimSpace(out)
			if last == "idle" {
				return nil
			}
		} else {
			last = err.Error()
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("node %s not idle after %v (sinfo: %s)", NodeName, timeout, last)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// stop cancels the cluster's jobs, stops its daemons and removes its directory.
func (c *Cluster) stop() {
	if c.t.Failed() {
		c.t.Logf("slurmtest: cluster logs:\n%s", c.Logs())
	}
	if len(c.procs) == 3 && !c.procs[1].exited() && !c.procs[2].exited() {
		// Let Slurm kill its jobs (scancel signals every process of each step).
		c.command("scancel", "--partition="+PartitionName)
		deadline := time.Now().Add(5 * time.Second)
		for time.Now().Before(deadline) {
			out, err := c.command("squeue", "-h", "-o", "%i")
			if err != nil || strings.TrimSpace(out) == "" {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	// Stop the daemons in reverse order of start: slurmd, slurmctld, munged.
	for i := len(c.procs) - 1; i >= 0; i-- {
		d := c.procs[i]
		pgid := d.cmd.Process.Pid
		syscall.Kill(-pgid, syscall.SIGTERM)
		select {
		case <-d.done:
		case <-time.After(5 * time.Second):
			c.t.Logf("slurmtest: %s did not stop on SIGTERM in 5s; killing it", d.name)
		}
		syscall.Kill(-pgid, syscall.SIGKILL)
		<-d.done
	}
	c.reap()
}

// reaperScript kills every process whose environment marks it as belonging to the cluster in $1
// (slurmstepd inherits the marker from slurmd; jobs get SLURM_CONF from sbatch), then removes $1.
// It starts when its standard input closes: when the cluster stops, or when the test binary dies
// without running its cleanups (go test -timeout), which the daemons survive only as far as their
// children: slurmstepd and the jobs leave the daemons' process groups.
const reaperScript = `cat >/dev/null
dir=$1
for round in 1 2 3 4 5 6 7 8 9 10; do
  found=
  for env in /proc/[0-9]*/environ; do
    pid=${env#/proc/}
    pid=${pid%/environ}
    [ "$pid" = "$$" ] && continue
    if grep -qzxF -e "` + marker + `=$dir" -e "SLURM_CONF=$dir/slurm.conf" "$env" 2>/dev/null; then
      kill -9 "$pid" 2>/dev/null && found=1
    fi
  done
  [ -z "$found" ] && break
  sleep 0.2
done
rm -rf "$dir"
`

// startReaper starts the process that cleans up after the cluster once c.reaperIn is closed.
func (c *Cluster) startReaper() error {
	cmd := exec.Command("/bin/sh", "-c", reaperScript, "slurmtest-reaper", c.Dir)
	in, err := cmd.StdinPipe()
	if err != nil {
		return fmt.Errorf("reaper: %w", err)
	}
	// Not in the test's process group, so a ^C to go test does not stop it before it has run.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("reaper: %w", err)
	}
	c.reaper, c.reaperIn = cmd, in
	return nil
}

// reap runs the reaper now and waits for it.
func (c *Cluster) reap() {
	if c.reaper == nil {
		os.RemoveAll(c.Dir)
		return
	}
	c.reaperIn.Close()
	done := make(chan error, 1)
	go func() { done <- c.reaper.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			c.t.Logf("slurmtest: reaper: %v", err)
		}
	case <-time.After(20 * time.Second):
		c.t.Logf("slurmtest: reaper still running after 20s; leaving it to finish")
	}
}

// Env returns the environment for Slurm client commands that talk to the cluster: the test's
// environment with SLURM_CONF set to the cluster's slurm.conf. Jobs inherit it from sbatch.
func (c *Cluster) Env() []string {
	env := make([]string, 0, len(os.Environ())+1)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SLURM_") {
			env = append(env, kv)
		}
	}
	return append(env, "SLURM_CONF="+c.Conf)
}

// command runs a Slurm client command against the cluster and returns its standard output.
func (c *Cluster) command(name string, args ...string) (string, error) {
	path, err := lookPath(name)
	if err != nil {
		return "", fmt.Errorf("%s: %w", name, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Env = c.Env()
	cmd.Dir = c.Dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}

// Sbatch submits a batch job with the given sbatch arguments (options, then the script and its
// arguments) and returns its job ID; for an array job, the array's job ID. The job runs in the
// cluster's directory unless the arguments say otherwise (--chdir).
func (c *Cluster) Sbatch(args ...string) (string, error) {
	out, err := c.command("sbatch", append([]string{"--parsable", "--chdir=" + c.Dir}, args...)...)
	if err != nil {
		return "", err
	}
	id, _, _ := strings.Cut(strings.TrimSpace(out), ";")
	if _, err := strconv.Atoi(id); err != nil {
		return "", fmt.Errorf("sbatch: unexpected output %q", out)
	}
	return id, nil
}

// Wait waits until no task of the job is pending or running (squeue no longer lists it).
func (c *Cluster) Wait(jobID string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		out, err := c.command("squeue", "-h", "-j", jobID, "-o", "%i %T")
		if err != nil && !strings.Contains(err.Error(), "Invalid job id") {
			return fmt.Errorf("wait for job %s: %w", jobID, err)
		}
		if strings.TrimSpace(out) == "" {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("job %s not finished after %v: %s", jobID, timeout, strings.Join(strings.Fields(out), " "))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TaskStates returns the state of each task of the job by array index: PENDING, RUNNING, COMPLETED,
// FAILED, CANCELLED and so on. A job that is not an array job has its state under [NoArray].
func (c *Cluster) TaskStates(jobID string) (map[int]string, error) {
	out, err := c.command("scontrol", "show", "job", "-o", jobID)
	if err != nil {
		return nil, fmt.Errorf("states of job %s: %w", jobID, err)
	}
	states := map[int]string{}
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		fields := map[string]string{}
		for _, f := range strings.Fields(sc.Text()) {
			if k, v, ok := strings.Cut(f, "="); ok {
				fields[k] = v
			}
		}
		state, ok := fields["JobState"]
		if !ok {
			continue
		}
		tasks, ok := fields["ArrayTaskId"]
		if !ok {
			states[NoArray] = state
			continue
		}
		idx, err := parseIndices(tasks)
		if err != nil {
			return nil, fmt.Errorf("states of job %s: %w", jobID, err)
		}
		for _, i := range idx {
			states[i] = state
		}
	}
	return states, nil
}

// parseIndices expands an ArrayTaskId such as "3", "2-5", "0-6:2", "1,4" or "0-9%2".
func parseIndices(s string) ([]int, error) {
	s, _, _ = strings.Cut(s, "%")
	var idx []int
	for _, part := range strings.Split(s, ",") {
		rng, stepStr, hasStep := strings.Cut(part, ":")
		step := 1
		if hasStep {
			var err error
			if step, err = strconv.Atoi(stepStr); err != nil || step < 1 {
				return nil, fmt.Errorf("array task ids %q: bad step", s)
			}
		}
		loStr, hiStr, isRange := strings.Cut(rng, "-")
		lo, err := strconv.Atoi(loStr)
		if err != nil {
			return nil, fmt.Errorf("array task ids %q: %w", s, err)
		}
		hi := lo
		if isRange {
			if hi, err = strconv.Atoi(hiStr); err != nil {
				return nil, fmt.Errorf("array task ids %q: %w", s, err)
			}
		}
		for i := lo; i <= hi; i += step {
			idx = append(idx, i)
		}
	}
	sort.Ints(idx)
	return idx, nil
}

// Cancel cancels one task of an array job, or the whole job when index is [NoArray].
func (c *Cluster) Cancel(jobID string, index int) error {
	target := jobID
	if index != NoArray {
		target = fmt.Sprintf("%s_%d", jobID, index)
	}
	_, err := c.command("scancel", target)
	return err
}

// Logs returns the end of the daemons' log files and output, for failure messages.
func (c *Cluster) Logs() string {
	var b strings.Builder
	for _, d := range c.procs {
		if d.exited() {
			fmt.Fprintf(&b, "==> %s exited: %v\n", d.name, d.cmd.ProcessState)
		}
	}
	for _, name := range []string{"munged.out", "slurmctld.log", "slurmctld.out", "slurmd.log", "slurmd.out"} {
		data, err := os.ReadFile(filepath.Join(c.Dir, name))
		if err != nil {
			if !os.IsNotExist(err) {
				fmt.Fprintf(&b, "==> %s: %v\n", name, err)
			}
			continue
		}
		if len(data) > 0 {
			fmt.Fprintf(&b, "==> %s <==\n%s\n", filepath.Join(c.Dir, name), tail(string(data), 40))
		}
	}
	return b.String()
}

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
