"""What each Encord call does, framework-free: authenticate, authorise, then read or write
through predscope's services, so rows the SDK saves take the one write path (validated, one
transaction per call) and are analysed like any other branch.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from predscope.exceptions import InvalidArgumentsError, ResourceNotFoundError
from predscope.objects.label_row import LabelRowV2
from predscope.objects.ontology_structure import OntologyStructure
from predscope.server.encord import wire
from predscope.server.encord.errors import EncordApiError, authentication, authorisation
from predscope.server.encord.media_links import MediaLinks
from predscope.server.encord.signing import Bearer, Scheme, authenticate
from predscope.server.media import MediaFile, media_file
from predscope.services import encord_keys
from predscope.services.rows import (
    StoreRowBackend,
    copy_labels_to_branch,
    list_branches,
    list_row_records,
    metadata_from_record,
)
from predscope.store.engine import Store
from predscope.store.projects import get_project_by_id, list_projects
from predscope.store.records import DataUnitRecord, ProjectRecord, RowRecord
from predscope.store.unit_lookup import units_with_hash

# A bearer token resolves to the same access a key gives (the server's token store decides).
BearerLookup = Callable[[str], encord_keys.KeyAccess | None]


@dataclass(frozen=True, slots=True)
class Caller:
    email: str
    project_ids: frozenset[int]
    base_url: str = ""  # how the caller reaches this server: media links are built on it


class EncordApi:
    """One store, served to Encord's SDK."""

    def __init__(
        self,
        store: Store,
        *,
        bearer_lookup: BearerLookup | None = None,
        clock: Callable[[], float] = time.time,
        media_links: MediaLinks | None = None,
    ) -> None:
        self.store = store
        self.bearer_lookup = bearer_lookup
        self.clock = clock
        self.media_links = media_links or MediaLinks(clock=clock)

    # -- who is calling ---------------------------------------------------------------------

    def caller(
        self, scheme: Scheme, method: str, target: str, headers: Mapping[str, str], body: bytes
    ) -> Caller:
        credential = authenticate(
            scheme, method=method, target=target, headers=headers, body=body, now=self.clock()
        )
        if isinstance(credential, Bearer):
            access = self.bearer_lookup(credential.token) if self.bearer_lookup else None
            if access is None:
                raise authentication("the bearer token is not known to this predscope server")
        else:
            access = encord_keys.key_access(self.store, credential.key_hex)
            if access is None:
                raise authentication(
                    f"the key {credential.key_hex[:16]}... is not registered with this predscope"
                    " server - register its public key with `predscope keys add KEY.pub --user "
                    "EMAIL --project PROJECT`"
                )
        return Caller(access.user_email, access.project_ids)

    def project(self, caller: Caller, project_hash: str) -> ProjectRecord:
        """The project, if the caller was granted it; unknown and ungranted look the same."""
        for project_id in caller.project_ids:
            with self.store.read() as conn:
                record = get_project_by_id(conn, project_id)
            if record.project_hash == project_hash:
                return record
        raise authorisation(
            f"project {project_hash!r}: not granted to {caller.email} (or no such project) - "
            "grant it with `predscope keys add KEY.pub --user EMAIL --project PROJECT`"
        )

    def granted_projects(self, caller: Caller) -> list[ProjectRecord]:
        with self.store.read() as conn:
            return [p for p in list_projects(conn) if p.id in caller.project_ids]

    # -- v2 REST ----------------------------------------------------------------------------

    def get_project(self, caller: Caller, project_hash: str) -> dict[str, Any]:
        return wire.project_dto(self.project(caller, project_hash), caller.email)

    def get_ontology(self, caller: Caller, ontology_hash: str) -> dict[str, Any]:
        for project in self.granted_projects(caller):
            if wire.ontology_hash(project) == ontology_hash:
                return wire.ontology_dto(project)
        raise ResourceNotFoundError(
            f"ontology {ontology_hash!r}: no project granted to {caller.email} uses it"
        )

    def branches(self, caller: Caller, project_hash: str) -> list[str]:
        return list_branches(self.store, self.project(caller, project_hash))

    def copy_branch(self, caller: Caller, project_hash: str, body: Mapping[str, Any]) -> int:
        project = self.project(caller, project_hash)
        target = body.get("targetBranchName", body.get("target_branch_name"))
        if not isinstance(target, str):
            raise InvalidArgumentsError("copy-branch: targetBranchName is required")
        source = body.get("sourceBranchName", body.get("source_branch_name")) or "main"
        labels = body.get("labelUuids", body.get("label_uuids"))
        data = body.get("dataUuids", body.get("data_uuids"))
        return copy_labels_to_branch(
            self.store,
            project,
            target,
            source_branch=str(source),
            overwrite=bool(body.get("overwrite", False)),
            label_hashes=None if not labels else [str(x) for x in labels],
            data_hashes=None if not data else [str(x) for x in data],
        )

    # -- legacy RPC -------------------------------------------------------------------------

    def rpc(self, caller: Caller, resource_id: str, envelope: Mapping[str, Any]) -> Any:
        query_type = envelope.get("query_type")
        method = envelope.get("query_method")
        values = envelope.get("values") or {}
        if not isinstance(values, dict):
            raise InvalidArgumentsError("the request's 'values' must be an object")
        handler = _RPC.get((str(query_type), str(method)))
        if handler is None:
            raise EncordApiError(
                "METHOD_NOT_ALLOWED_ERROR",
                405,
                f"{query_type}/{method}: this predscope server serves only the label-row calls"
                " of the guide's scripts (labelrowmetadata GET, labelrow GET/PUT/POST, "
                "ontology GET)",
            )
        project = self.project(caller, resource_id)
        payload = values.get("payload")
        return handler(self, caller, project, values.get("uid"), payload or {})

    def _ontology(self, project: ProjectRecord) -> OntologyStructure:
        return OntologyStructure.from_dict(project.ontology)

    def _rows(self, project: ProjectRecord, records: Sequence[RowRecord]) -> list[LabelRowV2]:
        ontology = self._ontology(project)
        backend = StoreRowBackend(self.store, project, ontology)
        dataset_hash = wire.dataset_hash(project)
        return [
            LabelRowV2(
                dataclasses.replace(
                    metadata_from_record(r), dataset_hash=dataset_hash, dataset_title=project.title
                ),
                ontology,
                backend,
            )
            for r in records
        ]

    def list_metadata(
        self, caller: Caller, project: ProjectRecord, uid: Any, payload: dict[str, Any]
    ) -> list[dict[str, Any]]:
        records = list_row_records(
            self.store,
            project,
            branch_name=payload.get("branch_name"),
            include_all_label_branches=bool(payload.get("include_all_label_branches")),
            data_hashes=payload.get("data_hashes"),
            label_hashes=payload.get("label_hashes"),
            data_title_eq=payload.get("data_title_eq"),
            data_title_like=payload.get("data_title_like"),
            edited_before=payload.get("edited_before"),
            edited_after=payload.get("edited_after"),
            label_statuses=payload.get("label_statuses"),
            shadow_data_state=payload.get("shadow_data_state"),
        )
        if payload.get("include_uninitialised_labels") is False:
            records = [r for r in records if r.label_hash is not None]
        images = bool(payload.get("include_images_data"))
        link = self._linker(caller, project)
        return [
            wire.metadata_row(project, r, images_data=images, data_link=link(r.unit, None))
            for r in records
        ]

    def _linker(
        self, caller: Caller, project: ProjectRecord
    ) -> Callable[[DataUnitRecord, int | None], str | None]:
        def link(unit: DataUnitRecord, frame: int | None) -> str | None:
            return self.media_links.link(caller.base_url, project.project_hash, unit, frame)

        return link

    def media(
        self, project_hash: str, data_hash: str, frame: int | None, expires: str, signature: str
    ) -> MediaFile:
        """The file behind a signed media link (``media_links``); the link is the credential."""
        self.media_links.check(project_hash, data_hash, frame, expires, signature)
        with self.store.read() as conn:
            project = next((p for p in list_projects(conn) if p.project_hash == project_hash), None)
            units = [] if project is None else units_with_hash(conn, data_hash)
        found = [u for u in units if project is not None and u.project_id == project.id]
        if not found:
            raise ResourceNotFoundError(f"data unit {data_hash!r}: no longer in the project")
        return media_file(found[0], frame)

    def get_rows(
        self, caller: Caller, project: ProjectRecord, uid: Any, payload: dict[str, Any]
    ) -> Any:
        hashes = _uids(uid, "label hash")
        records = list_row_records(self.store, project, label_hashes=hashes, branch_name=None,
                                   include_all_label_branches=True)  # fmt: skip
        found = {r.label_hash for r in records}
        missing = [h for h in hashes if h not in found]
        if missing:
            raise ResourceNotFoundError(
                f"label row {missing[0]!r}: no such row in project {project.title!r}"
            )
        return self._initialised(caller, project, records, single=not isinstance(uid, list))

    def create_rows(
        self, caller: Caller, project: ProjectRecord, uid: Any, payload: dict[str, Any]
    ) -> Any:
        hashes = _uids(uid, "data hash")
        branch = payload.get("branch_name") or "main"
        records = list_row_records(self.store, project, branch_name=branch, data_hashes=hashes)
        found = {r.data_hash for r in records}
        missing = [h for h in hashes if h not in found]
        if missing:
            raise ResourceNotFoundError(
                f"data unit {missing[0]!r}: no such data unit in project {project.title!r}"
            )
        # Creating a row that exists already answers that row: the SDK retries reads, and two
        # scripts initialising one branch must both succeed.
        return self._initialised(caller, project, records, single=not isinstance(uid, list))

    def _initialised(
        self, caller: Caller, project: ProjectRecord, records: Sequence[RowRecord], *, single: bool
    ) -> Any:
        rows = self._rows(project, records)
        if rows:
            rows[0].backend.initialise_rows(rows)  # type: ignore[union-attr]
        link = self._linker(caller, project)
        documents = [
            wire.relink(wire.complete_units(row.to_encord_dict()), record.unit, link)
            for row, record in zip(rows, records, strict=True)
        ]
        return documents[0] if single and documents else documents

    def save_rows(
        self, caller: Caller, project: ProjectRecord, uid: Any, payload: dict[str, Any]
    ) -> Any:
        if payload.get("multi_request"):
            labels = payload.get("labels")
            if not isinstance(labels, list):
                raise InvalidArgumentsError("labelrow save: payload.labels must be a list of rows")
        else:
            labels = [payload]
        hashes = [str(d.get("label_hash")) for d in labels if isinstance(d, dict)]
        if len(hashes) != len(labels):
            raise InvalidArgumentsError("labelrow save: every entry of labels must be a row object")
        records = {
            r.label_hash: r
            for r in list_row_records(
                self.store, project, label_hashes=hashes, include_all_label_branches=True
            )  # fmt: skip
        }
        missing = [h for h in hashes if h not in records]
        if missing:
            raise ResourceNotFoundError(
                f"label row {missing[0]!r}: no such row in project {project.title!r} - create it "
                "first (initialise_labels on a row without a label hash)"
            )
        rows = self._rows(project, [records[h] for h in hashes])
        for row, document in zip(rows, labels, strict=True):
            wire.fill_created_by(document, caller.email)
            row._load_labels(document)
        if rows:
            rows[0].backend.save_rows(rows)  # type: ignore[union-attr]
        return {"saved": len(rows)}

    def legacy_ontology(
        self, caller: Caller, project: ProjectRecord, uid: Any, payload: dict[str, Any]
    ) -> dict[str, Any]:
        if uid not in (None, wire.ontology_hash(project)):
            raise ResourceNotFoundError(f"ontology {uid!r}: not the ontology of {project.title!r}")
        return wire.legacy_ontology(project)


def _uids(uid: Any, what: str) -> list[str]:
    values = uid if isinstance(uid, list) else [uid]
    if not values or not all(isinstance(v, str) and v for v in values):
        raise InvalidArgumentsError(f"the request's uid must be a {what} or a list of them")
    return [str(v) for v in values]


_Handler = Callable[[EncordApi, Caller, ProjectRecord, Any, dict[str, Any]], Any]
_RPC: dict[tuple[str, str], _Handler] = {
    ("labelrowmetadata", "GET"): EncordApi.list_metadata,
    ("labelrow", "GET"): EncordApi.get_rows,
    ("labelrow", "PUT"): EncordApi.create_rows,
    ("labelrow", "POST"): EncordApi.save_rows,
    ("ontology", "GET"): EncordApi.legacy_ontology,
}
