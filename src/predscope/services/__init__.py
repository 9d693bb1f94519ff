"""Orchestration shared by the CLI, the server and the Python API: I/O plus calls into pure layers."""
