"""The HTTP server: predscope's JSON API, its pages and the Encord-compatible API."""
