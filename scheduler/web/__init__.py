"""The HTTP edge (FastAPI): feeds, pages, health."""
