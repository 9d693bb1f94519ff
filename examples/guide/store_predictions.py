"""Store predictions boilerplate (Encord SDK form).

Puts one bounding-box prediction, with a confidence score, on frame 0 of every
data unit of a project, on a named prediction branch. The branch does not need
to exist beforehand: list_label_rows_v2(branch_name=...) returns one row per
data unit, and rows that have no label on that branch yet (label_hash is None)
are created on that branch when their labels are initialised.

This is the complete form of the "Store Predictions Boilerplate" in
prediction-import-guide.txt. A script like this one should run against
predscope after changing little more than the import and client lines.

Assumes the first object of the ontology is a bounding-box object.
"""

import os  # noqa: F401  (imported by the guide; unused)

import predscope
from predscope import Project
from predscope.objects import LabelRowV2, Object, ObjectInstance, OntologyStructure
from predscope.objects.coordinates import (  # noqa: F401  (the guide imports every coordinate type)
    BitmaskCoordinates,
    BoundingBoxCoordinates,
    PointCoordinate,
    PolygonCoordinates,
    PolylineCoordinates,
    RotatableBoundingBoxCoordinates,
)

SSH_PATH = "file-path-to-your-ssh-key"
PROJECT_HASH = "unique-id-for-project"
PREDICTION_BRANCH_NAME = "name-of-your-prediction-branch"

assert SSH_PATH is not None, "SSH path cannot be None"
assert PROJECT_HASH is not None, "Project hash cannot be None"

# Authenticate with the private key file (Ed25519).
user_client = predscope.Client()

# Open the project.
project: Project = user_client.get_project(PROJECT_HASH)

# One row per data unit, all on the prediction branch.
prediction_branch_rows: list[LabelRowV2] = project.list_label_rows_v2(
    branch_name=PREDICTION_BRANCH_NAME
)
if len(prediction_branch_rows) > 0:
    print("Branch is:", prediction_branch_rows[0].branch_name)

ontology_structure: OntologyStructure = project.ontology_structure
ontology_object: Object = ontology_structure.objects[0]

# Step 1: download (or create, for rows new to the branch) the labels of every
# row in one bundled request.
bundle = project.create_bundle()
for row in prediction_branch_rows:
    row.initialise_labels(bundle=bundle)
bundle.execute()

# Step 2: add one box prediction per row and save all rows in one bundled
# request. A bundle may be reused after execute().
for row in prediction_branch_rows:
    inst: ObjectInstance = ontology_object.create_instance()
    inst.set_for_frames(
        coordinates=BoundingBoxCoordinates(
            height=0.1,  # all values are fractions of the image size
            width=0.1,
            top_left_x=0.5,
            top_left_y=0.5,
        ),
        frames=0,  # the first (and for an image, only) frame
        confidence=0.8,  # model score in [0, 1]
        manual_annotation=False,  # made by a model, not a person
    )
    row.add_object_instance(inst)
    row.save(bundle=bundle)
bundle.execute()

print(f"Stored {len(prediction_branch_rows)} predictions on branch {PREDICTION_BRANCH_NAME!r}")
