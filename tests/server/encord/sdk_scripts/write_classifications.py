"""Runs inside an SDK venv: on branch argv[4], puts one radio classification (with its nested
text answer) and one text classification on every image row, then saves in one bundle.
argv: URL PRIVATE_KEY_FILE PROJECT_HASH BRANCH. The SDK writes them in its own generation's
form: per-frame entries (<= 0.1.202) or ranges (>= 0.1.205)."""

import sys

from encord import EncordUserClient
from encord.objects import Classification

url, key_file, project_hash, branch = sys.argv[1:5]
client = EncordUserClient.create_with_ssh_private_key(ssh_private_key_path=key_file, domain=url)
project = client.get_project(project_hash)
onto = project.ontology_structure
radio = onto.get_child_by_title("Radio classification 1", type_=Classification)
text = onto.get_child_by_title("Text classification", type_=Classification)
rows = [r for r in project.list_label_rows_v2(branch_name=branch) if r.data_type.upper() == "IMAGE"]
bundle = project.create_bundle()
for row in rows:
    row.initialise_labels(bundle=bundle)
bundle.execute()
for row in rows:
    answer = radio.create_instance()
    option = radio.attributes[0].options[1]
    answer.set_answer(option)
    nested = option.attributes[0] if getattr(option, "attributes", None) else None
    if nested is not None and nested.name == "cl 1 2 text":
        answer.set_answer("why not", attribute=nested)
    answer.set_for_frames(frames=0, confidence=0.625, manual_annotation=False)
    row.add_classification_instance(answer)
    note = text.create_instance()
    note.set_answer("a cat")
    note.set_for_frames(frames=0)
    row.add_classification_instance(note)
    row.save(bundle=bundle)
bundle.execute()
print("saved", len(rows))
