package cli

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/agentlens/agentlens/data"
	"github.com/agentlens/agentlens/trace/chat"
)

func newCmdData(f *Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "data <command>",
		Short:   "Generate and check labeled episode datasets",
		GroupID: groupAnalysis,
		Example: "  agentlens data generate --out selfpres\n  agentlens data stats selfpres",
	}
	cmd.AddCommand(newCmdDataGenerate(f, nil), newCmdDataStats(f, nil))
	return cmd
}

// dataGenerateOptions are the inputs of "agentlens data generate".
type dataGenerateOptions struct {
	IO *IOStreams

	Out      string // dataset directory
	Seed     uint64
	Pairs    int // twin pairs per family
	Controls int
}

func newCmdDataGenerate(f *Factory, runF func(*dataGenerateOptions) error) *cobra.Command {
	opts := &dataGenerateOptions{IO: f.IO}
	cmd := &cobra.Command{
		Use:   "generate --out <dir> [--seed <n>] [--pairs <n>] [--controls <n>]",
		Short: "Write the labeled self-preservation dataset",
		Long: `Generate the labeled self-preservation dataset (generator ` + data.GeneratorVersion + `) into <dir>:
one native JSONL file per split (train, val, test_family, test_style, control),
labels.parquet with one row per episode, and MANIFEST.sha256.

Every misaligned episode has an aligned twin that is byte-identical up to the
assistant's decision. The output is a function of the generator version and the
seed alone: the default seed reproduces the manifest committed in
data/testdata/selfpres.manifest.sha256. See data/README.md for the dataset card.`,
		Example: `  agentlens data generate --out selfpres
  agentlens data generate --out /tmp/small --seed 7 --pairs 12 --controls 20`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			switch {
			case opts.Out == "":
				return flagErrorf("--out is required: the directory to write the dataset to")
			case opts.Seed == 0 || opts.Seed > math.MaxInt64:
				return flagErrorf("--seed %d: want a seed from 1 to %d (default %d)", opts.Seed, int64(math.MaxInt64), data.DefaultSeed)
			case opts.Pairs < 1:
				return flagErrorf("--pairs %d: want at least 1 twin pair per family", opts.Pairs)
			case opts.Controls < 1:
				return flagErrorf("--controls %d: want at least 1 control episode", opts.Controls)
			}
			if st, err := os.Stat(opts.Out); err == nil && !st.IsDir() {
				return flagErrorf("--out %s: exists and is not a directory", opts.Out)
			}
			if runF != nil {
				return runF(opts)
			}
			return dataGenerateRun(opts)
		},
	}
	cmd.Flags().StringVarP(&opts.Out, "out", "o", "", "dataset `dir`ectory to write")
	cmd.Flags().Uint64Var(&opts.Seed, "seed", data.DefaultSeed, "generator `seed`")
	cmd.Flags().IntVar(&opts.Pairs, "pairs", data.DefaultPairs, "twin pairs per family (180 crosses every condition and style once)")
	cmd.Flags().IntVar(&opts.Controls, "controls", data.DefaultControls, "benign control episodes")
	return cmd
}

func dataGenerateRun(opts *dataGenerateOptions) error {
	start := time.Now()
	d, err := data.Generate(data.GenerateOptions{Seed: opts.Seed, Pairs: opts.Pairs, Controls: opts.Controls})
	if err != nil {
		return err
	}
	m, err := d.Write(opts.Out)
	if err != nil {
		return err
	}
	total := strings.Fields(m[strings.LastIndex(strings.TrimSuffix(m, "\n"), "\n")+1:])[0]
	fmt.Fprintf(opts.IO.Out, "wrote %d episodes (%d families × %d twin pairs, %d controls) to %s in %.1fs\n",
		len(d.Episodes), len(data.Families), opts.Pairs, opts.Controls, opts.Out, time.Since(start).Seconds())
	fmt.Fprintf(opts.IO.Out, "generator %s, seed %d, manifest total %s\n", data.GeneratorVersion, opts.Seed, total)
	return nil
}

// dataStatsOptions are the inputs of "agentlens data stats".
type dataStatsOptions struct {
	IO *IOStreams

	Dir      string
	Model    string // a GGUF file or cached model name for real token counts ("" = none)
	Template string // chat template file overriding the model's
}

func newCmdDataStats(f *Factory, runF func(*dataStatsOptions) error) *cobra.Command {
	opts := &dataStatsOptions{IO: f.IO}
	cmd := &cobra.Command{
		Use:   "stats <dir> [--model <path>] [--template <file>]",
		Short: "Check a dataset directory and print its counts",
		Long: `Read a dataset written by "agentlens data generate", check that labels.parquet and
the JSONL files agree (errors name the file, line and field), and print the counts
per family × label × split, per style and per condition, as Markdown tables.

With --model (a GGUF file, or smollm2 / gemma3 from the cache) every episode is also
rendered through the model's chat template and tokenizer, and the real token
lengths are reported.`,
		Example: `  agentlens data stats selfpres
  agentlens data stats selfpres --model smollm2`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Dir = args[0]
			if st, err := os.Stat(opts.Dir); err != nil || !st.IsDir() {
				return flagErrorf("%s: not a dataset directory", opts.Dir)
			}
			if opts.Model != "" {
				ref, err := resolveModelArg(f, opts.Model)
				if err != nil {
					return err
				}
				if opts.Model, err = ref.cached(); err != nil {
					return err
				}
			}
			if runF != nil {
				return runF(opts)
			}
			return dataStatsRun(opts)
		},
	}
	cmd.Flags().StringVarP(&opts.Model, "model", "m", "", "GGUF model `path` or cached model name (smollm2, gemma3) for token lengths")
	cmd.Flags().StringVar(&opts.Template, "chat-template", "", "chat template `file` (overrides the model's)")
	// --template was this command's name for it before every model command took --chat-template.
	cmd.Flags().StringVar(&opts.Template, "template", "", "chat template `file` (overrides the model's)")
	_ = cmd.Flags().MarkDeprecated("template", "use --chat-template")
	return cmd
}

func dataStatsRun(opts *dataStatsOptions) error {
	d, err := data.ReadDataset(opts.Dir)
	if err != nil {
		return err
	}
	fmt.Fprintf(opts.IO.Out, "# %s: labels.parquet and %d JSONL files agree\n\n", opts.Dir, len(data.Splits))
	fmt.Fprint(opts.IO.Out, data.Stats(d.Labels))
	if opts.Model == "" {
		return nil
	}
	var p prompter
	if p.Tok, err = openTokenizer(opts.Model); err != nil {
		return err
	}
	if p.Tmpl, err = chat.Select(opts.Model, p.Tok.ChatTemplate(), opts.Template); err != nil {
		return err
	}
	var toks []int
	byFamily := map[string][]int{}
	for i, ep := range d.Episodes {
		r, err := p.render(ep, false)
		if err != nil {
			return err
		}
		toks = append(toks, len(r.IDs))
		byFamily[d.Labels[i].Family] = append(byFamily[d.Labels[i].Family], len(r.IDs))
	}
	name := filepath.Base(opts.Model)
	fmt.Fprintf(opts.IO.Out, "\nTokens with %s's template and tokenizer:\n\n| family | episodes | min | median | p90 | max |\n|---|---:|---:|---:|---:|---:|\n", name)
	for _, fam := range append(append([]string(nil), data.Families...), data.FamilyControl) {
		if len(byFamily[fam]) > 0 {
			fmt.Fprintf(opts.IO.Out, "| %s | %s |\n", fam, quantiles(byFamily[fam]))
		}
	}
	fmt.Fprintf(opts.IO.Out, "| all | %s |\n", quantiles(toks))
	return nil
}

// quantiles formats the count, min, median, p90 and max of xs as table cells.
func quantiles(xs []int) string {
	s := append([]int(nil), xs...)
	sort.Ints(s)
	q := func(p float64) int { return s[int(p*float64(len(s)-1))] }
	return fmt.Sprintf("%d | %d | %d | %d | %d", len(s), s[0], q(0.5), q(0.9), s[len(s)-1])
}
