"""HTML and SVG renderers: pure functions from timeline objects to strings (no widgets here)."""
