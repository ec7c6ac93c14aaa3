package deploy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/yaml"
)

// shardSuffix is what the capture container appends to the agentlens command line: Kubernetes sets
// JOB_COMPLETION_INDEX in each pod of an Indexed Job, AGENTLENS_SHARDS is the Job's completions.
const shardSuffix = `--shard "${JOB_COMPLETION_INDEX}/${AGENTLENS_SHARDS}"`

// manifests is every object in the k8s/*.yaml files, decoded strictly into its k8s.io/api type.
type manifests struct {
	jobs map[string]*batchv1.Job                  // by metadata.name
	pvcs map[string]*corev1.PersistentVolumeClaim // by metadata.name
}

// splitDocs splits a YAML stream on its "---" document separators, dropping empty documents.
func splitDocs(b []byte) [][]byte {
	var docs [][]byte
	for _, d := range regexp.MustCompile(`(?m)^---[ \t]*$`).Split(string(b), -1) {
		if len(bytes.TrimSpace(stripComments([]byte(d)))) > 0 {
			docs = append(docs, []byte(d))
		}
	}
	return docs
}

func stripComments(b []byte) []byte {
	return regexp.MustCompile(`(?m)^\s*#.*$`).ReplaceAll(b, nil)
}

// decode checks the YAML files against the Kubernetes API: each document is decoded strictly into
// the k8s.io/api type its apiVersion and kind name (an unknown, misspelled or duplicated field fails),
// validated against the API's JSON schema, and then against the apiserver's rules for the fields
// used (checkJob, checkPVC) and the sharding contract (checkShards).
func decode(files map[string][]byte, schema *k8sSchema) (*manifests, []error) {
	m := &manifests{jobs: map[string]*batchv1.Job{}, pvcs: map[string]*corev1.PersistentVolumeClaim{}}
	var errs []error
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		for i, doc := range splitDocs(files[name]) {
			where := fmt.Sprintf("%s: document %d", name, i)
			if err := decodeDoc(doc, schema, m); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", where, err))
			}
		}
	}
	return m, errs
}

func decodeDoc(doc []byte, schema *k8sSchema, m *manifests) error {
	var tm metav1.TypeMeta
	if err := yaml.Unmarshal(doc, &tm); err != nil {
		return err
	}
	var (
		obj  any
		meta *metav1.ObjectMeta
		want metav1.TypeMeta
	)
	switch tm.APIVersion + " " + tm.Kind {
	case "batch/v1 Job":
		j := &batchv1.Job{}
		obj, meta, want = j, &j.ObjectMeta, metav1.TypeMeta{APIVersion: batchv1.SchemeGroupVersion.String(), Kind: "Job"}
	case "v1 PersistentVolumeClaim":
		p := &corev1.PersistentVolumeClaim{}
		obj, meta, want = p, &p.ObjectMeta, metav1.TypeMeta{APIVersion: corev1.SchemeGroupVersion.String(), Kind: "PersistentVolumeClaim"}
	default:
		return fmt.Errorf("apiVersion %q kind %q: not a kind these manifests use", tm.APIVersion, tm.Kind)
	}
	if err := yaml.UnmarshalStrict(doc, obj); err != nil {
		return fmt.Errorf("strict decode: %w", err)
	}
	js, err := yaml.YAMLToJSON(doc)
	if err != nil {
		return err
	}
	var v any
	d := json.NewDecoder(bytes.NewReader(js))
	d.UseNumber()
	if err := d.Decode(&v); err != nil {
		return err
	}
	if errs := schema.validate(want.APIVersion, want.Kind, v); len(errs) > 0 {
		return fmt.Errorf("schema: %s", strings.Join(errs, "; "))
	}
	if errs := validation.IsDNS1123Label(meta.Name); len(errs) > 0 {
		return fmt.Errorf("metadata.name %q: %s", meta.Name, strings.Join(errs, "; "))
	}
	switch o := obj.(type) {
	case *batchv1.Job:
		if o.TypeMeta != want {
			return fmt.Errorf("typemeta = %v, want %v", o.TypeMeta, want)
		}
		m.jobs[o.Name] = o
	case *corev1.PersistentVolumeClaim:
		if o.TypeMeta != want {
			return fmt.Errorf("typemeta = %v, want %v", o.TypeMeta, want)
		}
		m.pvcs[o.Name] = o
	}
	return nil
}

// checkJob mirrors the apiserver's batch/v1 Job validation (pkg/apis/batch/validation) for the fields
// the manifests use, plus the pod template rules of core validation that apply to them.
func checkJob(j *batchv1.Job, pvcs map[string]*corev1.PersistentVolumeClaim) []error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("job %s: "+format, append([]any{j.Name}, args...)...))
	}
	s := j.Spec
	indexed := s.CompletionMode != nil && *s.CompletionMode == batchv1.IndexedCompletion
	if s.CompletionMode != nil && !indexed && *s.CompletionMode != batchv1.NonIndexedCompletion {
		bad("completionMode %q: want Indexed or NonIndexed", *s.CompletionMode)
	}
	for name, p := range map[string]*int32{"completions": s.Completions, "parallelism": s.Parallelism, "backoffLimit": s.BackoffLimit, "backoffLimitPerIndex": s.BackoffLimitPerIndex, "maxFailedIndexes": s.MaxFailedIndexes} {
		if p != nil && *p < 0 {
			bad("%s = %d: must be >= 0", name, *p)
		}
	}
	if indexed {
		if s.Completions == nil {
			bad("completionMode Indexed requires completions")
		} else if *s.Completions > 100000 {
			bad("completions = %d: at most 100000 when Indexed", *s.Completions)
		}
	}
	if s.Completions != nil && s.Parallelism != nil && *s.Parallelism > *s.Completions {
		bad("parallelism = %d > completions = %d: the extra pods would never run", *s.Parallelism, *s.Completions)
	}
	if s.BackoffLimitPerIndex != nil && !indexed {
		bad("backoffLimitPerIndex requires completionMode Indexed")
	}
	if s.MaxFailedIndexes != nil {
		if s.BackoffLimitPerIndex == nil {
			bad("maxFailedIndexes requires backoffLimitPerIndex")
		}
		if s.Completions != nil && *s.MaxFailedIndexes > *s.Completions {
			bad("maxFailedIndexes = %d > completions = %d", *s.MaxFailedIndexes, *s.Completions)
		}
	}
	pod := s.Template.Spec
	switch pod.RestartPolicy {
	case corev1.RestartPolicyNever, corev1.RestartPolicyOnFailure:
	default:
		bad("template restartPolicy %q: a Job's must be Never or OnFailure", pod.RestartPolicy)
	}
	containers := map[string]bool{}
	for _, c := range slices.Concat(pod.InitContainers, pod.Containers) {
		containers[c.Name] = true
	}
	if p := s.PodFailurePolicy; p != nil {
		if pod.RestartPolicy != corev1.RestartPolicyNever {
			bad("podFailurePolicy requires template restartPolicy Never, got %q", pod.RestartPolicy)
		}
		for i, r := range p.Rules {
			switch r.Action {
			case batchv1.PodFailurePolicyActionFailJob, batchv1.PodFailurePolicyActionIgnore, batchv1.PodFailurePolicyActionCount:
			case batchv1.PodFailurePolicyActionFailIndex:
				if s.BackoffLimitPerIndex == nil {
					bad("podFailurePolicy rule %d: action FailIndex requires backoffLimitPerIndex", i)
				}
			default:
				bad("podFailurePolicy rule %d: unknown action %q", i, r.Action)
			}
			if (r.OnExitCodes == nil) == (len(r.OnPodConditions) == 0) {
				bad("podFailurePolicy rule %d: set exactly one of onExitCodes and onPodConditions", i)
			}
			if e := r.OnExitCodes; e != nil {
				if e.ContainerName != nil && !containers[*e.ContainerName] {
					bad("podFailurePolicy rule %d: containerName %q is no container of the pod", i, *e.ContainerName)
				}
				if e.Operator != batchv1.PodFailurePolicyOnExitCodesOpIn && e.Operator != batchv1.PodFailurePolicyOnExitCodesOpNotIn {
					bad("podFailurePolicy rule %d: operator %q: want In or NotIn", i, e.Operator)
				}
				if len(e.Values) == 0 || len(e.Values) > 255 {
					bad("podFailurePolicy rule %d: %d exit codes: want 1 to 255", i, len(e.Values))
				}
				for k, v := range e.Values {
					if v == 0 && e.Operator == batchv1.PodFailurePolicyOnExitCodesOpIn {
						bad("podFailurePolicy rule %d: exit code 0 is not allowed with In", i)
					}
					if k > 0 && v <= e.Values[k-1] {
						bad("podFailurePolicy rule %d: exit codes must be sorted and unique", i)
					}
				}
			}
			for _, c := range r.OnPodConditions {
				switch c.Status {
				case corev1.ConditionTrue, corev1.ConditionFalse, corev1.ConditionUnknown:
				default:
					bad("podFailurePolicy rule %d: condition status %q", i, c.Status)
				}
				if errs2 := validation.IsQualifiedName(string(c.Type)); len(errs2) > 0 {
					bad("podFailurePolicy rule %d: condition type %q: %s", i, c.Type, strings.Join(errs2, "; "))
				}
			}
		}
	}
	errs = append(errs, checkPod(j.Name, pod, pvcs)...)
	return errs
}

// checkPod mirrors core validation of a pod spec for the fields the manifests use.
func checkPod(job string, pod corev1.PodSpec, pvcs map[string]*corev1.PersistentVolumeClaim) []error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("job %s: "+format, append([]any{job}, args...)...))
	}
	if len(pod.Containers) == 0 {
		bad("the pod has no containers")
	}
	volumes := map[string]bool{}
	for _, v := range pod.Volumes {
		if es := validation.IsDNS1123Label(v.Name); len(es) > 0 {
			bad("volume %q: %s", v.Name, strings.Join(es, "; "))
		}
		if volumes[v.Name] {
			bad("volume %q declared twice", v.Name)
		}
		volumes[v.Name] = true
		if c := v.PersistentVolumeClaim; c != nil && pvcs[c.ClaimName] == nil {
			bad("volume %q: claim %q is not in these manifests", v.Name, c.ClaimName)
		}
	}
	names := map[string]bool{}
	for _, c := range slices.Concat(pod.InitContainers, pod.Containers) {
		if es := validation.IsDNS1123Label(c.Name); len(es) > 0 {
			bad("container %q: %s", c.Name, strings.Join(es, "; "))
		}
		if names[c.Name] {
			bad("container name %q used twice", c.Name)
		}
		names[c.Name] = true
		if c.Image == "" {
			bad("container %s: no image", c.Name)
		}
		switch c.ImagePullPolicy {
		case "", corev1.PullAlways, corev1.PullIfNotPresent, corev1.PullNever:
		default:
			bad("container %s: imagePullPolicy %q", c.Name, c.ImagePullPolicy)
		}
		for _, m := range c.VolumeMounts {
			if !volumes[m.Name] {
				bad("container %s: volumeMount %q names no declared volume", c.Name, m.Name)
			}
			if !strings.HasPrefix(m.MountPath, "/") {
				bad("container %s: mountPath %q is not absolute", c.Name, m.MountPath)
			}
		}
		envs := map[string]bool{}
		for _, e := range c.Env {
			if es := validation.IsEnvVarName(e.Name); len(es) > 0 {
				bad("container %s: env %q: %s", c.Name, e.Name, strings.Join(es, "; "))
			}
			if envs[e.Name] {
				bad("container %s: env %q set twice", c.Name, e.Name)
			}
			envs[e.Name] = true
		}
		for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
			req, okReq := c.Resources.Requests[r]
			lim, okLim := c.Resources.Limits[r]
			if !okReq || !okLim || req.Sign() <= 0 {
				bad("container %s: want a positive %s request and limit", c.Name, r)
				continue
			}
			if req.Cmp(lim) > 0 {
				bad("container %s: %s request %s > limit %s", c.Name, r, req.String(), lim.String())
			}
		}
	}
	return errs
}

// checkPVC mirrors core validation of a PersistentVolumeClaim for the fields used.
func checkPVC(p *corev1.PersistentVolumeClaim) []error {
	var errs []error
	if len(p.Spec.AccessModes) == 0 {
		errs = append(errs, fmt.Errorf("pvc %s: no accessModes", p.Name))
	}
	for _, m := range p.Spec.AccessModes {
		switch m {
		case corev1.ReadWriteOnce, corev1.ReadOnlyMany, corev1.ReadWriteMany, corev1.ReadWriteOncePod:
		default:
			errs = append(errs, fmt.Errorf("pvc %s: accessMode %q", p.Name, m))
		}
	}
	if !slices.Contains(p.Spec.AccessModes, corev1.ReadWriteMany) {
		errs = append(errs, fmt.Errorf("pvc %s: want ReadWriteMany, so that pods on several nodes share it", p.Name))
	}
	if q, ok := p.Spec.Resources.Requests[corev1.ResourceStorage]; !ok || q.Sign() <= 0 {
		errs = append(errs, fmt.Errorf("pvc %s: want a positive storage request", p.Name))
	}
	return errs
}

// captureJob returns the one Indexed Job and the container that runs the sharded command.
func captureJob(m *manifests) (*batchv1.Job, *corev1.Container, error) {
	var found *batchv1.Job
	for _, j := range m.jobs {
		if j.Spec.CompletionMode != nil && *j.Spec.CompletionMode == batchv1.IndexedCompletion {
			if found != nil {
				return nil, nil, fmt.Errorf("two Indexed Jobs: %s and %s", found.Name, j.Name)
			}
			found = j
		}
	}
	if found == nil {
		return nil, nil, fmt.Errorf("no Indexed Job")
	}
	for i, c := range found.Spec.Template.Spec.Containers {
		if slices.ContainsFunc(c.Env, func(e corev1.EnvVar) bool { return e.Name == "AGENTLENS_SHARDS" }) {
			return found, &found.Spec.Template.Spec.Containers[i], nil
		}
	}
	return nil, nil, fmt.Errorf("job %s: no container sets AGENTLENS_SHARDS", found.Name)
}

func envValue(c *corev1.Container, name string) (string, bool) {
	for _, e := range c.Env {
		if e.Name == name {
			return e.Value, true
		}
	}
	return "", false
}

// checkShards checks the sharding contract: the capture container runs agentlens through sh -c with
// --shard "${JOB_COMPLETION_INDEX}/${AGENTLENS_SHARDS}" appended, AGENTLENS_SHARDS equals completions
// (otherwise shards are lost or never written), every container shares one AGENTLENS_CACHE, and the
// merge Job merges the capture command's --out.
func checkShards(m *manifests) []error {
	j, c, err := captureJob(m)
	if err != nil {
		return []error{err}
	}
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("job %s: "+format, append([]any{j.Name}, args...)...))
	}
	if len(c.Command) != 3 || c.Command[0] != "sh" || c.Command[1] != "-c" {
		bad("container %s: command %q, want [sh -c SCRIPT]", c.Name, c.Command)
	} else if script := strings.TrimSpace(c.Command[2]); !strings.HasSuffix(script, shardSuffix) || !strings.Contains(script, `agentlens "$@"`) {
		bad("container %s: script %q, want agentlens \"$@\" ... %s", c.Name, script, shardSuffix)
	}
	shards, _ := envValue(c, "AGENTLENS_SHARDS")
	n, err := strconv.Atoi(shards)
	switch {
	case err != nil || n <= 0:
		bad("AGENTLENS_SHARDS %q is not a positive integer", shards)
	case j.Spec.Completions == nil || int32(n) != *j.Spec.Completions:
		bad("AGENTLENS_SHARDS = %d, want completions = %v: they must agree or shards are lost", n, derefOrNil(j.Spec.Completions))
	}
	if v, ok := envValue(c, "AGENTLENS_BACKEND"); !ok || !slices.Contains([]string{"auto", "xla", "go"}, v) {
		bad("AGENTLENS_BACKEND = %q, want auto, xla or go", v)
	}
	cache, _ := envValue(c, "AGENTLENS_CACHE")
	for _, ic := range j.Spec.Template.Spec.InitContainers {
		if v, _ := envValue(&ic, "AGENTLENS_CACHE"); v != cache {
			bad("init container %s: AGENTLENS_CACHE = %q, want the agentlens container's %q", ic.Name, v, cache)
		}
	}
	out := ""
	if k := slices.Index(c.Args, "--out"); k >= 0 && k+1 < len(c.Args) {
		out = c.Args[k+1]
	} else {
		bad("container %s: args %q have no --out DIR", c.Name, c.Args)
	}
	merged := false
	for _, mj := range m.jobs {
		for _, mc := range mj.Spec.Template.Spec.Containers {
			cmd := slices.Concat(mc.Command, mc.Args)
			if k := slices.Index(cmd, "merge"); k > 0 && k+1 < len(cmd) && cmd[k+1] == out {
				merged = true
			}
		}
	}
	if !merged {
		bad("no Job runs agentlens merge %s", out)
	}
	return errs
}

func derefOrNil(p *int32) any {
	if p == nil {
		return nil
	}
	return *p
}

func readK8s(t *testing.T) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	paths, err := fs.Glob(FS, "k8s/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range paths {
		b, err := fs.ReadFile(FS, p)
		if err != nil {
			t.Fatal(err)
		}
		files[p] = b
	}
	if len(files) == 0 {
		t.Fatal("no k8s/*.yaml in FS")
	}
	return files
}

// check runs every check on the files and returns all errors.
func check(files map[string][]byte, schema *k8sSchema) []error {
	m, errs := decode(files, schema)
	if len(errs) > 0 {
		return errs
	}
	for _, j := range m.jobs {
		errs = append(errs, checkJob(j, m.pvcs)...)
	}
	for _, p := range m.pvcs {
		errs = append(errs, checkPVC(p)...)
	}
	return append(errs, checkShards(m)...)
}

func TestManifests(t *testing.T) {
	files := readK8s(t)
	for _, err := range check(files, loadSchema(t)) {
		t.Error(err)
	}
	m, errs := decode(files, loadSchema(t))
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	if got, want := len(m.jobs), 2; got != want {
		t.Errorf("%d Jobs, want %d (capture and merge)", got, want)
	}
	if got, want := len(m.pvcs), 1; got != want {
		t.Errorf("%d PersistentVolumeClaims, want %d", got, want)
	}
}

// TestManifestsBroken checks that each check fails on a copy of the manifests with one mistake.
func TestManifestsBroken(t *testing.T) {
	schema := loadSchema(t)
	tests := []struct {
		name, file, old, new, want string
	}{
		{"misspelled field", "k8s/indexed-job.yaml", "completionMode: Indexed", "completionMod: Indexed", `unknown field "completionMod"`},
		{"misspelled nested field", "k8s/merge-job.yaml", "mountPath: /data", "mountpath: /data", `volumeMounts[0]: unknown field "mountpath"`}, // encoding/json matches case-insensitively: only the schema catches this
		{"wrong apiVersion", "k8s/pvc.yaml", "apiVersion: v1", "apiVersion: v2", "not a kind these manifests use"},
		{"wrong type", "k8s/indexed-job.yaml", "completions: 4", `completions: "4"`, "cannot unmarshal string"},
		{"bad quantity", "k8s/indexed-job.yaml", "memory: 6Gi", "memory: 6GB", "quantities must match"},
		{"missing completions", "k8s/indexed-job.yaml", "  completions: 4\n", "", "completionMode Indexed requires completions"},
		{"parallelism above completions", "k8s/indexed-job.yaml", "parallelism: 4", "parallelism: 8", "parallelism = 8 > completions = 4"},
		{"per-index backoff without Indexed", "k8s/indexed-job.yaml", "completionMode: Indexed", "completionMode: NonIndexed", "backoffLimitPerIndex requires completionMode Indexed"},
		{"pod failure policy with OnFailure", "k8s/indexed-job.yaml", "restartPolicy: Never", "restartPolicy: OnFailure", "podFailurePolicy requires template restartPolicy Never"},
		{"unknown restartPolicy", "k8s/merge-job.yaml", "restartPolicy: Never", "restartPolicy: Always", "must be Never or OnFailure"},
		{"undeclared volume", "k8s/merge-job.yaml", "- name: data\n              mountPath", "- name: dat\n              mountPath", `volumeMount "dat" names no declared volume`},
		{"container name", "k8s/merge-job.yaml", "name: merge", "name: Merge", `container "Merge"`},
		{"env name", "k8s/indexed-job.yaml", "name: AGENTLENS_BACKEND", "name: AGENTLENS BACKEND", `env "AGENTLENS BACKEND"`},
		{"unsorted exit codes", "k8s/indexed-job.yaml", "values: [3]", "values: [3, 1]", "sorted and unique"},
		{"no such claim", "k8s/pvc.yaml", "name: agentlens-data", "name: agentlens-cache", `claim "agentlens-data" is not in these manifests`},
		{"shards disagree", "k8s/indexed-job.yaml", `value: "4" # must`, `value: "3" # must`, "AGENTLENS_SHARDS = 3, want completions = 4"},
		{"no shard flag", "k8s/indexed-job.yaml", `"$@" --shard "${JOB_COMPLETION_INDEX}/${AGENTLENS_SHARDS}"`, `"$@"`, "want agentlens"},
		{"merge elsewhere", "k8s/merge-job.yaml", `"merge", "/data/out/acts"`, `"merge", "/data/out/other"`, "no Job runs agentlens merge /data/out/acts"},
		{"ReadWriteOnce", "k8s/pvc.yaml", "- ReadWriteMany", "- ReadWriteOnce", "want ReadWriteMany"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files := readK8s(t)
			b := string(files[tt.file])
			if !strings.Contains(b, tt.old) {
				t.Fatalf("%s does not contain %q", tt.file, tt.old)
			}
			files[tt.file] = []byte(strings.Replace(b, tt.old, tt.new, 1))
			errs := check(files, schema)
			if !slices.ContainsFunc(errs, func(e error) bool { return strings.Contains(e.Error(), tt.want) }) {
				t.Errorf("check = %v, want an error containing %q", errs, tt.want)
			}
		})
	}
}

// TestShardCommand runs the capture container's sh -c script with a stand-in agentlens on PATH and
// checks the argv it gets: the Job's args, then --shard INDEX/COUNT.
func TestShardCommand(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	m, errs := decode(readK8s(t), loadSchema(t))
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	_, c, err := captureJob(m)
	if err != nil {
		t.Fatal(err)
	}
	bin := t.TempDir()
	if err := os.WriteFile(filepath.Join(bin, "agentlens"), []byte("#!/bin/sh\nfor a in \"$@\"; do printf '%s\\n' \"$a\"; done\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	shards, _ := envValue(c, "AGENTLENS_SHARDS")
	for _, index := range []string{"0", "3"} {
		cmd := exec.Command(sh, append([]string{c.Command[1], c.Command[2]}, c.Args...)...)
		cmd.Env = []string{"PATH=" + bin + string(os.PathListSeparator) + os.Getenv("PATH"), "JOB_COMPLETION_INDEX=" + index, "AGENTLENS_SHARDS=" + shards}
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("index %s: %v", index, err)
		}
		got := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
		want := append(slices.Clone(c.Args[1:]), "--shard", index+"/"+shards)
		if !slices.Equal(got, want) {
			t.Errorf("index %s: agentlens argv = %q, want %q", index, got, want)
		}
	}
	if got, want := c.Args[:2], []string{"--", "capture"}; !slices.Equal(got, want) {
		t.Errorf("args start %q, want %q", got, want)
	}
}

// TestBinaryHasNoKubernetesDeps checks that the k8s.io modules stay test-only: the agentlens binary
// must not link the API types this test decodes into. (k8s.io/klog/v2 is allowed: GoMLX logs with it.)
func TestBinaryHasNoKubernetesDeps(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	gocmd, err := exec.LookPath(filepath.Join(runtime.GOROOT(), "bin", "go"))
	if err != nil {
		t.Skipf("no go command: %v", err)
	}
	out, err := exec.Command(gocmd, "list", "-deps", "github.com/agentlens/agentlens/cmd/agentlens", "github.com/agentlens/agentlens/cmd/agentlens/deploy").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	for _, pkg := range strings.Fields(string(out)) {
		if strings.HasPrefix(pkg, "sigs.k8s.io/") || (strings.HasPrefix(pkg, "k8s.io/") && !strings.HasPrefix(pkg, "k8s.io/klog/")) {
			t.Errorf("cmd/agentlens depends on %s: keep k8s.io imports in _test.go files", pkg)
		}
	}
}
