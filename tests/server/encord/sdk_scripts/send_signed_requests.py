"""Runs inside a venv holding the real ``encord`` SDK: sends requests signed by the SDK's own code
to the URL in argv[1], so the tests can check predscope's verifier against them.

argv: URL PRIVATE_KEY_FILE BEARER_TOKEN PROJECT_HASH. Every request is answered with an error by
the recorder, which the script expects and ignores. Prints one line per case sent.
"""

import json
import sys
from pathlib import Path

import requests
from encord import EncordUserClient
from encord.configs import BearerConfig, SshConfig

url, key_file, token, project_hash = sys.argv[1:5]
key_text = Path(key_file).read_text(encoding="ascii")


def attempt(case, call):
    try:
        call()
    except Exception as exc:  # the recorder refuses everything
        print(case, type(exc).__name__)
    else:
        print(case, "no error")


# 1. The SDK's own get_project: GET /v2/public/projects/{hash}, v2-signed.
ssh_client = EncordUserClient.create_with_ssh_private_key(key_text, domain=url)
attempt("sdk-get-project", lambda: ssh_client.get_project(project_hash))

# 2. The same with a bearer token.
bearer_client = EncordUserClient.create_with_bearer_token(token, domain=url)
attempt("sdk-bearer-get-project", lambda: bearer_client.get_project(project_hash))

ssh_config = SshConfig.from_ssh_private_key(key_text, domain=url)


def send_v2(method, path, params=None, body=None):
    request = requests.Request(
        method, url + path, params=params, data=None if body is None else json.dumps(body)
    ).prepare()
    signed = ssh_config.define_headers_v2(request)
    requests.Session().send(signed, timeout=30)


# 3. v2 with a query string that needs escaping, and v2 with a body (non-ASCII inside).
attempt(
    "v2-query",
    lambda: send_v2(
        "GET",
        f"/v2/public/projects/{project_hash}/branches",
        params={"pageToken": "a/b+c= d", "limit": 5},
    ),
)
attempt(
    "v2-body",
    lambda: send_v2(
        "POST",
        f"/v2/public/projects/{project_hash}/labels/copy-branch",
        body={"sourceBranchName": "main", "targetBranchName": "caf\u00e9-b"},
    ),
)


# 4. v1 on the legacy endpoint: the SDK's header builder over a json.dumps body.
def send_v1(config, case):
    data = json.dumps(
        {
            "query_type": "labelrowmetadata",
            "query_method": "GET",
            "values": {"uid": None, "payload": {"case": case, "title": "caf\u00e9"}},
        }
    )
    headers = config.define_headers(project_hash, "project", data)
    answer = requests.post(url + "/public", data=data, headers=headers, timeout=30)
    print(case, answer.status_code)


send_v1(ssh_config, "v1-post")
send_v1(BearerConfig.from_bearer_token(token, domain=url), "v1-bearer")
