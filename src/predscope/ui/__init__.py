"""Presentation: server-side rendered pages, SVG charts and overlays."""
