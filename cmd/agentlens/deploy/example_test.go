package deploy_test

import (
	"fmt"
	"io/fs"

	"github.com/agentlens/agentlens/cmd/agentlens/deploy"
)

// Example lists the Kubernetes files that the CLI can write out.
func Example() {
	files, err := fs.Glob(deploy.FS, "k8s/*")
	if err != nil {
		panic(err)
	}
	for _, f := range files {
		fmt.Println(f)
	}
	// Output:
	// k8s/Dockerfile
	// k8s/Dockerfile.dockerignore
	// k8s/indexed-job.yaml
	// k8s/merge-job.yaml
	// k8s/pvc.yaml
}
