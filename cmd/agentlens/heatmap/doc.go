// Package heatmap draws attribution results as figures: a self-contained HTML token viewer (every
// token of the episode coloured by its attribution, segments listed beside it) and an SVG bar chart of
// segment attributions for papers.
//
// A "heatmap" here is the colouring of a text's tokens by a signed score: red for tokens that raise the
// metric, blue for tokens that lower it, white for none, on a symmetric scale clipped at a high
// quantile of |score| so one outlier does not wash out the rest.
//
// Figures for papers are drawn with gonum/plot (Render, Save) in PNG, SVG and PDF, at one- or
// two-column width (Style): the segment → target bar chart (*Figure), the method comparison
// (*Comparison), matrix heatmaps with a colour bar (*Matrix: segment × segment, layer × segment,
// layer × position, layer × head), line charts with interval bands, scatters against the diagonal and
// ROC curves (*Curves), score timelines over an episode with its segments marked (*Timeline), a
// passage's tokens coloured by score and set like text (*Strip), and dot-and-whisker ("forest") charts
// of rates with their intervals by category, a dot per model or setting in each row (*Forest: the rate
// of harmful actions per scenario family). Signed values use one diverging blue–white–red scale
// centred at zero (Diverging, ColorBrewer's RdBu), segment kinds and series the Okabe–Ito palette
// (KindColor); both read for colour-blind readers. Labels are cut with an ellipsis or wrapped to the
// room they have, dense axes thin their labels out, and token text reads as ReadableToken writes it.
// WriteSVG and WriteMatrixSVG are Render with SVG; WriteDOT writes Graphviz text.
//
// WriteViewer writes the episode viewer: one self-contained HTML page (script, style and font inline)
// showing an Episode by segment, its tokens coloured by any of its score sets (a switcher), values on
// hover, search, the target outlined, and for a clicked segment its row and column of the segment
// matrix and its edges in the segment graph. Its tests drive it in headless Chromium.
package heatmap
