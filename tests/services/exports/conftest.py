"""The store of shipped cases that the listing and export tests compare streamed bytes on."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from predscope.services.demo import run_demo
from predscope.services.imports.coco import import_coco
from predscope.services.imports.encord import import_encord
from predscope.services.imports.options import ImportOptions
from predscope.services.projects import add_data, create_project
from predscope.store.engine import open_store
from tests.services.coco_fixtures import COCO_VAL, DATA, coco_project

ENCORD = DATA / "encord-label-rows"


@pytest.fixture(scope="session")
def location(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One store with the shipped cases: the demo, the Encord fixtures, COCO val 100."""
    folder = str(tmp_path_factory.mktemp("listing") / "store")
    store = open_store(folder)
    run_demo(store, DATA / "skimage-images")
    encord = create_project(store, "encord", ENCORD / "ontology_all_types_dict.json")
    add_data(store, encord, [{"title": "rousseau_2.jpg", "width": 1200, "height": 924}])
    import_encord(
        store, encord, [ENCORD / "label_row_native_image.json"], ImportOptions(branch="main")
    )
    group = create_project(store, "group", ENCORD / "ontology_image_group.json")
    units = json.loads((ENCORD / "label_row_image_group.json").read_text())["data_units"]
    images = [
        {"title": u["data_title"], "width": 952, "height": 678}
        for u in sorted(units.values(), key=lambda u: int(u["data_sequence"]))
    ]
    add_data(store, group, [{"title": "image-group-8375e", "images": images}])
    import_encord(
        store, group, [ENCORD / "label_row_image_group.json"], ImportOptions(branch="main")
    )
    gt_file = COCO_VAL / "instances_val2014_100.json"
    coco = coco_project(store, gt_file, ("bounding_box", "bitmask"), title="coco")
    import_coco(store, coco, gt_file, ImportOptions(ground_truth=True))
    for name in ("bbox", "segm"):
        results = COCO_VAL / f"instances_val2014_fake{name}100_results.json"
        import_coco(store, coco, results, ImportOptions(branch=name))
    store.close()
    yield folder
