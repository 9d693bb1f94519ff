"""Runs inside an SDK venv: tries the calls named in argv[4:] against the server and prints one
JSON line per call: the SDK exception's class (or "ok") for SDK calls, the raw answer for legacy
calls signed by the SDK's own header builder. argv: URL PRIVATE_KEY_FILE PROJECT_HASH CALL..."""

import json
import sys

import requests
from encord import EncordUserClient
from encord.configs import SshConfig

url, key_file, project_hash = sys.argv[1:4]
key_text = open(key_file, encoding="ascii").read()  # noqa: SIM115
client = EncordUserClient.create_with_ssh_private_key(key_text, domain=url)
config = SshConfig.from_ssh_private_key(key_text, domain=url)
LISTING = {"query_type": "labelrowmetadata", "query_method": "GET",
           "values": {"uid": None, "payload": {"branch_name": "main",
                                               "include_uninitialised_labels": True}}}  # fmt: skip
SAVE = {"query_type": "labelrow", "query_method": "POST",
        "values": {"uid": ["x"], "payload": {"multi_request": True, "labels": []}}}  # fmt: skip


def legacy(signed_body, sent_body):
    headers = config.define_headers(project_hash, "project", json.dumps(signed_body))
    answer = requests.post(url + "/public", data=json.dumps(sent_body), headers=headers, timeout=30)
    return {"http": answer.status_code, **answer.json()}


for call in sys.argv[4:]:
    if call == "get_project":
        try:
            project = client.get_project(project_hash)
            result = {"ok": project.title}
        except Exception as exc:
            result = {"error": type(exc).__name__, "message": str(exc)[:300]}
    elif call == "legacy_listing":
        result = legacy(LISTING, LISTING)
    elif call == "legacy_tampered":
        result = legacy(LISTING, SAVE)  # signed one body, sent another
    else:
        raise SystemExit(f"unknown call {call}")
    print(json.dumps({"call": call, **result}))
