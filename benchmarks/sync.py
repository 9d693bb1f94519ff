"""Time ``predscope sync encord`` against the Encord SDK's own fetch of the same rows.

Builds a generated project (``services.demo_scale``: N images by size, ground truth on ``main``
and three detectors' branches, so 4 x N label rows), serves it with ``predscope serve`` on a free
loopback port with a fresh Ed25519 key, and times, in one run:

* the floor: the SDK alone listing every row of every branch and fetching all of them in bundles
  (``list_label_rows_v2(include_all_label_branches=True)``, ``initialise_labels``,
  ``to_encord_dict``), which any sync through the SDK must do;
* the first sync into an empty store (the floor plus validating and writing every row);
* a second sync after one row changed at the source, and a third with nothing changed.

It prints each time and the ratios: first sync / floor (what predscope adds to the SDK's fetch)
and incremental / first (goal: the one-row sync costs a small fraction of the first: it lists
markers and fetches one row). Tests never assert on these; this script prints them.

    python benchmarks/sync.py [--images 1000] [--work DIR]
"""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey


def _key(folder: Path) -> tuple[str, str]:
    """(private key text, public OpenSSH line) of a fresh Ed25519 key."""
    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.OpenSSH,
        serialization.NoEncryption(),
    ).decode("ascii")
    public = key.public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    )
    (folder / "id_ed25519").write_text(private, encoding="ascii")
    return private, public.decode("ascii")


def _build(store_dir: Path, images: int, public_line: str) -> str:
    from predscope.services.demo_scale import write_case
    from predscope.services.encord_keys import add_key
    from predscope.services.imports.coco import import_coco
    from predscope.services.imports.onboard import create_project_from_coco
    from predscope.services.imports.options import ImportOptions
    from predscope.store.engine import open_store

    with open_store(str(store_dir)) as store, tempfile.TemporaryDirectory() as tmp:
        instances, results = write_case(Path(tmp), images)
        onboard = create_project_from_coco(store, "sync-bench", instances, shape="bounding_box")
        for branch, path in results:
            import_coco(store, onboard.project, path, ImportOptions(branch=branch))
        project_hash = onboard.project.project_hash
        add_key(store, public_line, user_email="bench@example.com", projects=[project_hash])
    return project_hash


def _serve(store_dir: Path) -> tuple[subprocess.Popen[bytes], str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    args = [sys.executable, "-m", "predscope", "serve", "--store", str(store_dir)]
    process = subprocess.Popen([*args, "--port", str(port)], stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/api/health", timeout=2).status_code < 500:
                return process, url
        except httpx.TransportError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit("predscope serve did not start")


def _floor(url: str, private: str, project_hash: str) -> tuple[float, int]:
    from encord import EncordUserClient

    started = time.perf_counter()
    client = EncordUserClient.create_with_ssh_private_key(private, domain=url)
    project = client.get_project(project_hash)
    rows = [
        r
        for r in project.list_label_rows_v2(include_all_label_branches=True)
        if r.label_hash is not None
    ]
    for start in range(0, len(rows), 100):
        with project.create_bundle() as bundle:
            for row in rows[start : start + 100]:
                row.initialise_labels(bundle=bundle)
    documents = [row.to_encord_dict() for row in rows]
    return time.perf_counter() - started, len(documents)


def _change_one_row(store_dir: Path, project_hash: str) -> None:
    from predscope.sdk.client import Client

    with Client(store_dir) as client:
        project = client.get_project(project_hash)
        row = next(r for r in project.list_label_rows_v2(branch_name="main") if r.label_hash)
        row.initialise_labels()
        row.remove_object(row.get_object_instances()[0])
        row.save()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=1000)
    parser.add_argument("--work", type=Path, default=None)
    args = parser.parse_args()
    from predscope.services.sync.encord import sync_encord
    from predscope.store.engine import open_store

    with tempfile.TemporaryDirectory(prefix="predscope-sync-bench-") as tmp:
        work = args.work or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        private, public = _key(work)
        source = work / "source"
        print(f"building {args.images} images x 4 branches ...", flush=True)
        project_hash = _build(source, args.images, public)
        server, url = _serve(source)
        try:
            floor, rows = _floor(url, private, project_hash)
            times = []
            with open_store(str(work / "target")) as store:
                for step in ("first", "one row changed", "nothing changed"):
                    if step == "one row changed":
                        _change_one_row(source, project_hash)
                    started = time.perf_counter()
                    report = sync_encord(store, project_hash, private, domain=url)
                    times.append((step, time.perf_counter() - started, report.rows_fetched))
        finally:
            server.terminate()
            server.wait(timeout=30)
    print(f"\n{rows} label rows on 4 branches ({args.images} images)")
    print(f"  SDK fetch alone (the floor)   {floor:8.2f} s")
    for step, seconds, fetched in times:
        print(f"  sync: {step:<22} {seconds:8.2f} s   {fetched} rows fetched")
    first = times[0][1]
    print(f"\nfirst sync / SDK fetch:        {first / floor:6.2f}x")
    print(f"one-row sync / first sync:     {times[1][1] / first:6.1%}")
    print(f"no-change sync / first sync:   {times[2][1] / first:6.1%}")


if __name__ == "__main__":
    main()
