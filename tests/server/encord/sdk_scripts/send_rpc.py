"""Runs inside an SDK venv: sends each legacy RPC envelope in the JSON file argv[4] to
``URL/public``, signed by the SDK's own v1 header builder, and prints the answers as one JSON
list ({"http": status, **body}). argv: URL PRIVATE_KEY_FILE PROJECT_HASH ENVELOPES_FILE."""

import json
import sys
from pathlib import Path

import requests
from encord.configs import SshConfig

url, key_file, project_hash, envelopes_file = sys.argv[1:5]
config = SshConfig.from_ssh_private_key(Path(key_file).read_text(encoding="ascii"), domain=url)
answers = []
for envelope in json.loads(Path(envelopes_file).read_text()):
    data = json.dumps(envelope)
    headers = config.define_headers(project_hash, "project", data)
    answer = requests.post(url + "/public", data=data, headers=headers, timeout=120)
    try:
        body = answer.json()
    except ValueError:
        body = {"text": answer.text[:500]}
    answers.append({"http": answer.status_code, **body})
print(json.dumps(answers))
