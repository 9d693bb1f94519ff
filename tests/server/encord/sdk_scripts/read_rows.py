"""Runs inside an SDK venv: reads every row of every branch through the server and prints the
summary (summary.py) as JSON. argv: URL PRIVATE_KEY_FILE PROJECT_HASH."""

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from encord import EncordUserClient  # noqa: E402
from summary import summarise  # noqa: E402

url, key_file, project_hash = sys.argv[1:4]
client = EncordUserClient.create_with_ssh_private_key(ssh_private_key_path=key_file, domain=url)
project = client.get_project(project_hash)
rows = [r for r in project.list_label_rows_v2(include_all_label_branches=True) if r.label_hash]
bundle = project.create_bundle()
for row in rows:
    row.initialise_labels(bundle=bundle)
bundle.execute()
print(json.dumps(summarise(rows)))
