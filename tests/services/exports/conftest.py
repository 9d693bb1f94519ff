"""The store of shipped cases that the listing and export tests compare streamed bytes on."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from predscope.services.demo import run_demo
from predscope.services.imports.coco import import_coco
from predscope.services.imports.options import ImportOptions
from predscope.store.engine import open_store
from tests.services.coco_fixtures import COCO_VAL, DATA, coco_project, encord_projects

ENCORD = DATA / "encord-label-rows"


@pytest.fixture(scope="session")
def location(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One store with the shipped cases: the demo, the Encord fixtures, COCO val 100."""
    folder = str(tmp_path_factory.mktemp("listing") / "store")
    store = open_store(folder)
    run_demo(store, DATA / "skimage-images")
    encord_projects(store)
    gt_file = COCO_VAL / "instances_val2014_100.json"
    coco = coco_project(store, gt_file, ("bounding_box", "bitmask"), title="coco")
    import_coco(store, coco, gt_file, ImportOptions(ground_truth=True))
    for name in ("bbox", "segm"):
        results = COCO_VAL / f"instances_val2014_fake{name}100_results.json"
        import_coco(store, coco, results, ImportOptions(branch=name))
    store.close()
    yield folder
