"""The part of Encord's HTTP API that Encord's own SDK needs: the legacy RPC at ``POST /public``
and REST under ``/v2/public``, with Encord's two Ed25519 request-signing schemes."""
