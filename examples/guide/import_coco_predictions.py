"""Import COCO labels as predictions (Encord SDK form).

Reads a COCO file whose annotations carry a model score, maps its categories
to ontology objects by title and its images to label rows by title, then
imports every annotation onto a prediction branch with the score as the
confidence.

This is the complete form of "COCO Label import as Predictions" in
prediction-import-guide.txt. A script like this one should run against
predscope after changing little more than the import and client lines.

The COCO file must be a full COCO dataset dict (not a bare results list):
  - "categories": [{"id", "name", ...}]; "name" must equal an ontology object's
    title (bounding_box, polygon or bitmask shape);
  - "images": [{"id", "width", "height", "file_name", ...}]; "file_name" must
    equal the data title of a data unit in the project;
  - "annotations": [{"id", "image_id", "category_id", "bbox", "area",
    "iscrowd", "segmentation", "score"}]; bbox in absolute pixels
    [x, y, w, h]; "score" is read because of confidence_field_name below.

Every run adds new objects to the branch: running it twice stores every
prediction twice.
"""

import json
from pathlib import Path

import predscope
from predscope.exceptions import OntologyError
from predscope.utilities.coco.datastructure import FrameIndex

SSH_PATH = "file-path-to-your-ssh-key"
PROJECT_HASH = "unique-id-for-project"
PREDICTION_BRANCH_NAME = "name-of-your-prediction-branch"
COCO_FILE = "COCOimportfile.json"
CONFIDENCE_FIELD_NAME = "score"

# Authenticate with the private key file (Ed25519).
user_client: predscope.Client = predscope.Client()

# Open the project.
project = user_client.get_project(PROJECT_HASH)

# Read the COCO file.
coco_file = Path(COCO_FILE)
labels_dict = json.loads(coco_file.read_text())

# COCO category id -> featureNodeHash of the ontology object with the same title.
category_id_to_feature_hash = {}
ont_struct = project.ontology_structure
for coco_category in labels_dict["categories"]:
    try:
        ont_obj = ont_struct.get_child_by_title(coco_category["name"])
        category_id_to_feature_hash[coco_category["id"]] = ont_obj.feature_node_hash
    except OntologyError:
        print(
            f"Could not match {coco_category['name']} in the Ontology. "
            "Import will crash if these are present."
        )

# COCO image id -> FrameIndex(data_hash, frame). Images are matched to data units
# by data_title == file_name; every image is frame 0 of its own data unit.
image_id_to_frame_index = {}
data_title_to_label_row = {lr.data_title: lr for lr in project.list_label_rows_v2()}
for img in labels_dict["images"]:
    lr = data_title_to_label_row.get(img["file_name"])
    if lr is None:
        print(f"Could not match image {img['file_name']} to a data unit. Its annotations are skipped.")
        continue
    image_id_to_frame_index[img["id"]] = FrameIndex(lr.data_hash, frame=0)

# Import onto the prediction branch (created if it does not exist), with the
# score field as each object's confidence.
project.import_coco_labels(
    labels_dict,
    category_id_to_feature_hash,
    image_id_to_frame_index,
    branch_name=PREDICTION_BRANCH_NAME,
    confidence_field_name=CONFIDENCE_FIELD_NAME,
)

print(
    f"Imported {len(labels_dict['annotations'])} COCO annotations "
    f"onto branch {PREDICTION_BRANCH_NAME!r}"
)
