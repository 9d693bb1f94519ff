"""HTTP layer (FastAPI). Thin routes over services."""
