"""The web UI's presentation: server-side SVG (overlays, charts), Jinja2 templates, static files.

Pure functions from plain data to markup; the server (one layer up) calls ``render`` and mounts
``static/``. Nothing here does I/O beyond reading its own templates.
"""
