"""Orchestration shared by the CLI and the Python API: I/O plus calls into the pure layers."""
