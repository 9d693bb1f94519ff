"""``predscope serve``: the HTTP layer (FastAPI) over the services.

``server.app.create_app`` builds the app; ``server/api/`` holds predscope's JSON API. The web pages
(``server/pages/``) and the Encord-compatible API (``server/encord/``) mount on the same app.
"""
