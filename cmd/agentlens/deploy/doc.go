// Package deploy holds the files that run agentlens on a cluster's own scheduler: a Slurm array
// script and a Kubernetes Indexed Job.
//
// An array task or an index is one shard: each runs a per-episode command with
// --shard INDEX/COUNT into its own shard directory, and `agentlens merge` joins the shards once all
// have finished. The files are embedded in FS so that the CLI can write them out:
//
//	k8s/pvc.yaml          the ReadWriteMany claim mounted at /data (episodes, cache, out)
//	k8s/indexed-job.yaml  the capture Job, completionMode Indexed, one pod per shard
//	k8s/merge-job.yaml    the Job that merges the shards, applied after the capture Job completes
//	k8s/Dockerfile        the image both Jobs run (with its Dockerfile.dockerignore)
//
// The test checks every manifest against the Kubernetes API: strict decoding into the k8s.io/api
// types, the API's JSON schema (testdata/k8s-schema.json, extracted by
// internal/reference/k8s/extract_schema.py) and the apiserver's Job rules for the fields used.
package deploy
