"""Projects kept in step with a project on another server (today: an Encord-compatible one).

``source`` speaks to the server through its own SDK (the optional ``encord`` extra); ``encord``
plans a sync from the rows' markers and writes it in one transaction.
"""
