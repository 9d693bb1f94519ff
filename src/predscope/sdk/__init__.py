"""The Encord-shaped Python API (``Client``, ``Project``) on top of the services layer."""
