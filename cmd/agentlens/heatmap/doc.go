// Package heatmap draws attribution results as figures: a self-contained HTML token viewer (every
// token of the episode coloured by its attribution, segments listed beside it) and an SVG bar chart of
// segment attributions for papers.
//
// A "heatmap" here is the colouring of a text's tokens by a signed score: red for tokens that raise the
// metric, blue for tokens that lower it, white for none, on a symmetric scale clipped at a high
// quantile of |score| so one outlier does not wash out the rest.
package heatmap
