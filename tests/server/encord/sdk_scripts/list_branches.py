"""Runs inside an SDK venv: prints every branch name ``Project.list_branches()`` yields, one a
line. argv: URL PRIVATE_KEY_FILE PROJECT_HASH."""

import sys

from encord import EncordUserClient

url, key_file, project_hash = sys.argv[1:4]
client = EncordUserClient.create_with_ssh_private_key(ssh_private_key_path=key_file, domain=url)
for name in client.get_project(project_hash).list_branches():
    print(name)
