package cli

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
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
	jsonOutput
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
  agentlens data generate --out /tmp/small --seed 7 --pairs 12 --controls 20
  agentlens data generate --out /tmp/small --pairs 4 --json | jq .manifest_total`,
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
			opts.quiet(&opts.IO)
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
	opts.addJSONFlag(cmd)
	return cmd
}

// dataGenerateSummary is the --json output of "agentlens data generate".
type dataGenerateSummary struct {
	Out           string         `json:"out"`
	Episodes      int            `json:"episodes"`
	Families      int            `json:"families"`
	Pairs         int            `json:"pairs"` // twin pairs per family
	Controls      int            `json:"controls"`
	Splits        map[string]int `json:"splits"` // episodes per split (one JSONL file each)
	Generator     string         `json:"generator"`
	Seed          uint64         `json:"seed"`
	ManifestTotal string         `json:"manifest_total"` // the last line of MANIFEST.sha256: the digest of the other lines
	ElapsedSecs   float64        `json:"elapsed_s"`
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
	sum := dataGenerateSummary{Out: opts.Out, Episodes: len(d.Episodes), Families: len(data.Families), Pairs: opts.Pairs,
		Controls: opts.Controls, Splits: map[string]int{}, Generator: data.GeneratorVersion, Seed: opts.Seed,
		ManifestTotal: strings.Fields(m[strings.LastIndex(strings.TrimSuffix(m, "\n"), "\n")+1:])[0],
		ElapsedSecs:   time.Since(start).Seconds()}
	for _, l := range d.Labels {
		sum.Splits[l.Split]++
	}
	if opts.JSON {
		return opts.print(sum)
	}
	fmt.Fprintf(opts.IO.Out, "wrote %d episodes (%d families × %d twin pairs, %d controls) to %s in %.1fs\n",
		sum.Episodes, sum.Families, sum.Pairs, sum.Controls, sum.Out, sum.ElapsedSecs)
	fmt.Fprintf(opts.IO.Out, "generator %s, seed %d, manifest total %s\n", sum.Generator, sum.Seed, sum.ManifestTotal)
	return nil
}

// dataStatsOptions are the inputs of "agentlens data stats".
type dataStatsOptions struct {
	IO *IOStreams

	Dir      string
	Model    string // a GGUF file or cached model name for real token counts ("" = none)
	Template string // chat template file overriding the model's
	jsonOutput
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
lengths are reported.

--json prints the same counts as one JSON object, named after the columns of
labels.parquet.`,
		Example: `  agentlens data stats selfpres
  agentlens data stats selfpres --model smollm2
  agentlens data stats selfpres --json | jq '.family_label[] | select(.family == "blackmail")'`,
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
			opts.quiet(&opts.IO)
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
	opts.addJSONFlag(cmd)
	return cmd
}

// dataStatsSummary is the --json output of "agentlens data stats".
type dataStatsSummary struct {
	Dir        string `json:"dir"`
	JSONLFiles int    `json:"jsonl_files"` // the files checked against labels.parquet
	data.Counts
	Tokens *tokenLengths `json:"tokens,omitempty"` // with --model
}

// tokenLengths are the real token lengths of a dataset's episodes with one model's template and
// tokenizer.
type tokenLengths struct {
	Model    string                  `json:"model"`
	Families map[string]data.Lengths `json:"families"`
	All      data.Lengths            `json:"all"`
}

func dataStatsRun(opts *dataStatsOptions) error {
	d, err := data.ReadDataset(opts.Dir)
	if err != nil {
		return err
	}
	sum := dataStatsSummary{Dir: opts.Dir, JSONLFiles: len(data.Splits), Counts: data.Count(d.Labels)}
	fmt.Fprintf(opts.IO.Out, "# %s: labels.parquet and %d JSONL files agree\n\n", opts.Dir, sum.JSONLFiles)
	fmt.Fprint(opts.IO.Out, sum.Counts.Markdown())
	if opts.Model == "" {
		if opts.JSON {
			return opts.print(sum)
		}
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
	tl := &tokenLengths{Model: filepath.Base(opts.Model), Families: map[string]data.Lengths{}}
	if len(toks) > 0 {
		tl.All = data.LengthsOf(toks)
	}
	fmt.Fprintf(opts.IO.Out, "\nTokens with %s's template and tokenizer:\n\n| family | episodes | min | median | p90 | max |\n|---|---:|---:|---:|---:|---:|\n", tl.Model)
	for _, fam := range append(append([]string(nil), data.Families...), data.FamilyControl) {
		if len(byFamily[fam]) > 0 {
			tl.Families[fam] = data.LengthsOf(byFamily[fam])
			fmt.Fprintf(opts.IO.Out, "| %s | %s |\n", fam, lengthCells(tl.Families[fam]))
		}
	}
	fmt.Fprintf(opts.IO.Out, "| all | %s |\n", lengthCells(tl.All))
	if opts.JSON {
		sum.Tokens = tl
		return opts.print(sum)
	}
	return nil
}

// lengthCells formats the count, min, median, p90 and max of q as table cells.
func lengthCells(q data.Lengths) string {
	return fmt.Sprintf("%d | %d | %d | %d | %d", q.Episodes, q.Min, q.Median, q.P90, q.Max)
}
