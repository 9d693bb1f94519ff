"""Runs inside an SDK venv: ``project.copy_labels_to_branch(TARGET)`` from main, then again
(nothing left to copy without overwrite); prints both counts. argv: URL KEY PROJECT TARGET."""

import sys

from encord import EncordUserClient

url, key_file, project_hash, target = sys.argv[1:5]
client = EncordUserClient.create_with_ssh_private_key(ssh_private_key_path=key_file, domain=url)
project = client.get_project(project_hash)
print(project.copy_labels_to_branch(target), project.copy_labels_to_branch(target))
