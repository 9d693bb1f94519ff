"""Pure evaluation: numpy arrays in, frozen result objects out. No store, no files, no server."""
