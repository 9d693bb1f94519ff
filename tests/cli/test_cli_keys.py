"""``predscope keys add|list|remove`` through the real Typer app."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from predscope.cli.app import build_app
from predscope.exceptions import InvalidArgumentsError, ResourceNotFoundError
from tests.server.encord.keys import make_key_pair

ROOT = Path(__file__).resolve().parents[2]
ONTOLOGY = ROOT / "examples" / "guide" / "ontology.json"
runner = CliRunner()


def run(*args: str, stdin: str | None = None) -> tuple[int, str, BaseException | None]:
    result = runner.invoke(build_app(), list(args), input=stdin)
    return result.exit_code, result.stdout, result.exception


@pytest.fixture
def store(tmp_path: Path) -> str:
    folder = str(tmp_path / "store")
    assert run("project", "create", "Demo", "--ontology", str(ONTOLOGY), "--store", folder)[0] == 0
    return folder


def test_add_list_remove(store: str, tmp_path: Path) -> None:
    pair = make_key_pair(tmp_path / "k")
    code, out, _ = run("keys", "add", str(pair.public_path), "--user", "ann@example.org",
                       "--project", "Demo", "--json", "--store", store)  # fmt: skip
    assert code == 0, out
    added = json.loads(out)
    assert added["key_id"] == pair.key_hex and added["projects"] == ["Demo"]
    code, out, _ = run("keys", "list", "--store", store)
    assert code == 0 and "ann@example.org" in out and added["fingerprint"][:20] in out
    # Removing asks first; "no" keeps the key.
    code, _, _ = run("keys", "remove", str(pair.public_path), "--store", store, stdin="n\n")
    assert code == 1
    assert len(json.loads(run("keys", "list", "--json", "--store", store)[1])) == 1
    code, out, _ = run("keys", "remove", added["fingerprint"], "--store", store, stdin="y\n")
    assert code == 0 and "Removed" in out
    assert json.loads(run("keys", "list", "--json", "--store", store)[1]) == []


def test_private_key_and_unknown_project_are_refused(store: str, tmp_path: Path) -> None:
    pair = make_key_pair(tmp_path / "k")
    code, _, exc = run("keys", "add", str(pair.private_path), "--user", "a@b.org", "--store", store)
    assert code == 1 and isinstance(exc, InvalidArgumentsError) and "private key" in str(exc)
    code, _, exc = run("keys", "add", str(pair.public_path), "--user", "a@b.org",
                       "--project", "Nope", "--store", store)  # fmt: skip
    assert code == 1 and isinstance(exc, ResourceNotFoundError)
    assert json.loads(run("keys", "list", "--json", "--store", store)[1]) == []


def test_remove_unknown_key(store: str) -> None:
    code, _, exc = run("keys", "remove", "deadbeefdeadbeef", "--yes", "--store", store)
    assert code == 1 and isinstance(exc, ResourceNotFoundError)
