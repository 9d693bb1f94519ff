"""Runs inside an SDK venv: with a bearer token instead of a key, opens the project and lists
its main-branch rows; prints the title and the row count. argv: URL TOKEN PROJECT_HASH."""

import sys

from encord import EncordUserClient

url, token, project_hash = sys.argv[1:4]
client = EncordUserClient.create_with_bearer_token(token, domain=url)
project = client.get_project(project_hash)
print(project.title, len(project.list_label_rows_v2()))
