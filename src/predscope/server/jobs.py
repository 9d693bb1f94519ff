"""Background jobs: long work (imports, later analyses) runs in a small thread pool, never in a
request, and reports progress through the ``services.progress`` callback.

The job's row is written when it is queued, started and finished. Progress in between is kept in
memory and overlaid on the row when a client asks: writing it to the store would, on SQLite, queue
behind the import's own write transaction (or block it). A server that stops leaves its unfinished
jobs failed with ``job_abandoned`` at the next start, so no client waits forever.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace
from typing import Any

from predscope.exceptions import PredscopeError
from predscope.services import jobs as job_service
from predscope.services.progress import Progress, ProgressUpdate
from predscope.store.engine import Store
from predscope.store.jobs import RUNNING, JobRecord
from predscope.store.records import ProjectRecord

log = logging.getLogger("predscope.server")

JobWork = Callable[[Progress], Mapping[str, Any]]
"""What a job runs: gets the progress callback, returns the JSON result."""


class JobRunner:
    def __init__(self, store: Store, workers: int) -> None:
        self.store = store
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="predscope-job")
        self._live: dict[str, ProgressUpdate] = {}
        self._lock = threading.Lock()
        self._futures: dict[str, Future[None]] = {}
        self._cleanups: dict[str, Callable[[], None]] = {}

    def submit(
        self,
        project: ProjectRecord | None,
        kind: str,
        params: Mapping[str, Any],
        work: JobWork,
        cleanup: Callable[[], None] | None = None,
    ) -> JobRecord:
        """Record a queued job and start it; ``cleanup`` runs after it, whatever happened."""
        try:
            record = job_service.create_job(self.store, project, kind, params)
        except BaseException:
            if cleanup is not None:
                cleanup()
            raise
        if cleanup is not None:
            self._cleanups[record.job_id] = cleanup
        self._futures[record.job_id] = self._pool.submit(self._run, record.job_id, work)
        return record

    def _run(self, job_id: str, work: JobWork) -> None:
        def progress(update: ProgressUpdate) -> None:
            with self._lock:
                self._live[job_id] = update

        result: Mapping[str, Any] | None = None
        error: dict[str, Any] | None = None
        try:
            job_service.mark_started(self.store, job_id)
            result = work(progress)
        except PredscopeError as exc:
            error = {"code": exc.code, "message": str(exc)}
        except Exception as exc:  # a bug: the job fails with a message, the server lives on
            log.exception("job %s failed", job_id)
            error = {"code": "internal_error", "message": f"{type(exc).__name__}: {exc}"}
        finally:
            self._clean(job_id)
        with self._lock:
            last = self._live.get(job_id)
        stage = last.stage if last else ("failed" if error else "done")
        done = last.done if last else 0
        total = last.total if last else None
        try:
            job_service.mark_finished(
                self.store, job_id, stage=stage, done=done, total=total, result=result, error=error
            )
        except PredscopeError:
            log.exception("job %s: could not record its end", job_id)
        finally:
            with self._lock:
                self._live.pop(job_id, None)
            self._futures.pop(job_id, None)

    def get(self, job_id: str) -> JobRecord:
        record = job_service.get_job(self.store, job_id)
        with self._lock:
            live = self._live.get(job_id)
        if live is not None and record.status == RUNNING:
            record = replace(record, stage=live.stage, done=live.done, total=live.total)
        return record

    def wait(self, job_id: str, timeout: float | None = None) -> None:
        future = self._futures.get(job_id)
        if future is not None:
            future.result(timeout)

    def _clean(self, job_id: str) -> None:
        cleanup = self._cleanups.pop(job_id, None)
        if cleanup is not None:
            cleanup()

    def shutdown(self) -> None:
        """Stop taking work; queued jobs are cancelled (their uploads removed; the next start
        marks them abandoned), running ones finish their transaction."""
        self._pool.shutdown(wait=True, cancel_futures=True)
        for job_id in list(self._cleanups):
            self._clean(job_id)


def job_dict(record: JobRecord) -> dict[str, Any]:
    return {
        "job_id": record.job_id,
        "kind": record.kind,
        "status": record.status,
        "project_hash": record.project_hash,
        "stage": record.stage,
        "done": record.done,
        "total": record.total,
        "created_at": record.created_at,
        "started_at": record.started_at,
        "finished_at": record.finished_at,
        "params": record.params,
        "result": record.result,
        "error": record.error,
        "url": f"/api/jobs/{record.job_id}",
    }
