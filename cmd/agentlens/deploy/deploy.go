package deploy

import "embed"

// FS holds the deployment files under their directory names (k8s/indexed-job.yaml, ...).
//
//go:embed k8s slurm
var FS embed.FS
