// Package slurmtest starts a real single-node Slurm cluster on loopback for tests, the way
// net/http/httptest starts an HTTP server: a cluster is a munged, a slurmctld and a slurmd owned by
// the test, with their key, sockets, configuration, state and logs in one temporary directory, and
// stopped when the test ends.
//
// It needs the Debian packages slurm-wlm and munge (slurmctld, slurmd, munged, sbatch); without them
// [Start] skips the test. Client commands reach the cluster through SLURM_CONF, which [Cluster.Env]
// sets:
//
//	c := slurmtest.Start(t, slurmtest.Options{})
//	id, err := c.Sbatch("--array=0-3", "job.sh")
//	...
//	err = c.Wait(id, 30*time.Second)
//	states, err := c.TaskStates(id) // {0: "COMPLETED", 1: "COMPLETED", ...}
//
// Slurm accounting is off, so finished jobs are read back with scontrol; the configuration keeps job
// records for an hour (MinJobAge), longer than any test.
//
// Nothing outlives the test: the cleanup cancels the jobs and stops the daemons (each in its own
// process group), then a reaper process kills whatever is left of the cluster (slurmstepd and job
// processes start sessions of their own) and removes its directory. The reaper also runs when the
// test binary dies without running its cleanups (go test -timeout, ^C), and the daemons die with it.
//
// It works as root and as an ordinary user: the daemons and the jobs run as the user who runs the test
// (SlurmUser and SlurmdUser), and slurmd as that user can run that user's jobs.
package slurmtest
