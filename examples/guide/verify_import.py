"""Verify a prediction import (Encord SDK form).

Lists every label row on every branch (MAIN, prediction and consensus
branches) with each object instance, its ontology item, its annotations per
frame and its attributes, and each classification instance with its answer.

This is the complete form of "Verify Prediction Import" in
prediction-import-guide.txt. A script like this one should run against
predscope after changing little more than the import and client lines.

The guide's listing reads objects straight after list_label_rows_v2; the SDK
only allows that once a row's labels are initialised, so the rows are
initialised first, in one bundled request. Rows that exist on no branch yet
(label_hash is None) have nothing to show and are skipped.
"""

import json  # noqa: F401  (imported by the guide; unused)

import predscope

SSH_PATH = "file-path-of-your-ssh-key"
PROJECT_HASH = "unique-id-for-your-project"

# Authenticate with the private key file (Ed25519).
user_client = predscope.Client()

# Open the project.
project = user_client.get_project(PROJECT_HASH)

# One LabelRowV2 per existing (data unit, branch) pair.
label_rows = project.list_label_rows_v2(include_all_label_branches=True)
label_rows = [lr for lr in label_rows if lr.label_hash is not None]

bundle = project.create_bundle()
for label_row in label_rows:
    label_row.initialise_labels(bundle=bundle)
bundle.execute()

for label_row in label_rows:
    print(f"Title: {label_row.data_title}, branch: {label_row.branch_name}")

    for object_instance in label_row.get_object_instances():
        print(f"objectHash: {object_instance.object_hash}")
        print(f"Object name: {object_instance.object_name}")
        print(f"featureHash: {object_instance.feature_hash}")
        print(f"uid: {object_instance.ontology_item.uid}")
        print(f"Object color: {object_instance.ontology_item.color}")
        print(f"Ontology shape: {object_instance.ontology_item.shape}")

        # Coordinates per frame; confidence and manual_annotation are per frame too.
        for annotation in object_instance.get_annotations():
            print(f"Frame {annotation.frame} -> {annotation.coordinates}")
            print(f"  confidence: {annotation.confidence}, manual: {annotation.manual_annotation}")

        # Attributes defined for this object in the ontology, with the answers given.
        for attribute in object_instance.ontology_item.attributes:
            print(attribute, object_instance)
            print(f"  answer: {object_instance.get_answer(attribute)}")

    for classification_instance in label_row.get_classification_instances():
        print(f"classificationHash: {classification_instance.classification_hash}")
        print(f"Classification name: {classification_instance.classification_name}")
        print(f"featureHash: {classification_instance.feature_hash}")

        # A radio answer is an option with .value and .feature_node_hash (the case the
        # guide prints); a text answer is a str and a checklist answer a list of options.
        answer = classification_instance.get_answer()
        if hasattr(answer, "feature_node_hash"):
            print(f"Classification answer: {answer.value}")
            print(f"Classification answer hash: {answer.feature_node_hash}")
        else:
            print(f"Classification answer: {answer}")

        for annotation in classification_instance.get_annotations():
            print(f"Classification appears on frame: {annotation.frame}")
