package heatmap

import "io"

// WriteSVG draws the figure's segment → target bar chart as SVG (Render with SVG and the default
// Style): signed bars in episode order coloured by kind, with the deletion effects beside them when
// there are any.
func WriteSVG(w io.Writer, f *Figure) error {
	return Render(w, f, SVG, Style{})
}
