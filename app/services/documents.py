"""Onboarding documents: accepted whole or not at all, then read into knowledge by a job.

An upload is checked before anything is stored (size, type by content, structure), so a
refused file leaves no row. The extraction job then reads the text, reporting progress on the
row for the page's progress bar, and in one transaction creates the knowledge document, its
chunks and the upload's `done`; if the text can't be read the upload is marked `failed` with
the reason and no knowledge is written. Either way the file's bytes are dropped. The new
chunks change the tenant's content stamp, so the very next reply retrieves from them.
"""
from __future__ import annotations

import logging

from flask import current_app
from sqlalchemy import select, update

from app.extensions import db
from app.jobs.queueing import queue_document
from app.models import DocumentUpload, KnowledgeDocument, UploadStatus, utcnow
from app.services import knowledge
from app.services.document_files import DocumentError, check_readable, extract_text, sniff

log = logging.getLogger(__name__)

MAX_NAME = 255
PROGRESS_STEP = 5  # percent between progress writes (a long PDF isn't a write per page)
EXTRACTED_SHARE = 90  # of the bar: reading the file; the rest is chunking and saving


def max_bytes() -> int:
    return int(current_app.config["DOCUMENT_MAX_BYTES"])


def too_large_message() -> str:
    return f"The file is larger than {max_bytes() // (1024 * 1024) or 1} MB: upload a smaller one"


def upload(tenant_id: int, user_id: int | None, filename: str, data: bytes) -> DocumentUpload:
    """Check and store one file and queue its extraction; DocumentError if it is refused."""
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1].strip()[:MAX_NAME]
    if not name:
        raise DocumentError("Choose a file to upload")
    if len(data) > max_bytes():
        raise DocumentError(too_large_message())
    kind = sniff(data, name)
    check_readable(data, kind)
    item = DocumentUpload(tenant_id=tenant_id, uploaded_by_id=user_id, filename=name, kind=kind,
                          size_bytes=len(data), data=data, status=UploadStatus.QUEUED, progress=0)
    db.session.add(item)
    db.session.commit()
    try:
        queue_document(item.id, tenant_id)
    except Exception as exc:
        log.exception("could not queue document upload %s", item.id)
        db.session.delete(item)
        db.session.commit()
        raise DocumentError("The document can't be processed right now: upload it again in a "
                            "minute") from exc
    return item


def get(tenant_id: int, upload_id: int) -> DocumentUpload | None:
    return db.session.scalar(select(DocumentUpload).where(
        DocumentUpload.id == upload_id, DocumentUpload.tenant_id == tenant_id))


def recent(tenant_id: int, limit: int = 50) -> list[DocumentUpload]:
    return list(db.session.scalars(select(DocumentUpload).where(
        DocumentUpload.tenant_id == tenant_id).order_by(DocumentUpload.id.desc()).limit(limit)))


def status(item: DocumentUpload) -> dict:
    """What the progress bar polls."""
    return {"id": item.id, "filename": item.filename, "status": str(item.status),
            "progress": item.progress, "error": item.error,
            "chunks": len(item.document.chunks) if item.document is not None else 0}


def process(tenant_id: int, upload_id: int) -> str:
    """The extraction job's work; returns the upload's final status (idempotent).

    Taking the row is a compare-and-set from queued (or processing, when a killed worker's
    job is re-run), so a second job for the same upload finds it done and does nothing.
    """
    claimed = db.session.execute(
        update(DocumentUpload)
        .where(DocumentUpload.id == upload_id, DocumentUpload.tenant_id == tenant_id,
               DocumentUpload.status.in_([UploadStatus.QUEUED, UploadStatus.PROCESSING]))
        .values(status=UploadStatus.PROCESSING, updated_at=utcnow())
    ).rowcount
    db.session.commit()
    item = get(tenant_id, upload_id)
    if not claimed or item is None:
        return str(item.status) if item is not None else "missing"
    if item.data is None:
        _fail(upload_id, tenant_id, "The file is no longer available: upload it again")
        return str(UploadStatus.FAILED)
    data, kind = bytes(item.data), item.kind
    db.session.commit()  # the read is over: no connection held while the file is parsed
    try:
        text = extract_text(data, kind, _progress_writer(tenant_id, upload_id))
    except DocumentError as exc:
        _fail(upload_id, tenant_id, str(exc))
        return str(UploadStatus.FAILED)
    _save(tenant_id, upload_id, text)
    return str(UploadStatus.DONE)


def _progress_writer(tenant_id: int, upload_id: int):
    last = [0]

    def write(done: int, total: int) -> None:
        percent = int(EXTRACTED_SHARE * done / max(total, 1))
        if percent - last[0] < PROGRESS_STEP and done < total:
            return
        last[0] = percent
        db.session.execute(update(DocumentUpload).where(
            DocumentUpload.id == upload_id, DocumentUpload.tenant_id == tenant_id,
            DocumentUpload.status == UploadStatus.PROCESSING).values(progress=percent))
        db.session.commit()

    return write


def _save(tenant_id: int, upload_id: int, text: str) -> None:
    """The knowledge document, its chunks and the upload's `done`, in one transaction.

    The upload moves to done by compare-and-set: if a second run of the job (a retry racing a
    run thought dead) got there first, this run's document is rolled back, never doubled.
    """
    item = get(tenant_id, upload_id)
    doc = KnowledgeDocument(tenant_id=tenant_id, title=item.filename[:200], content=text)
    db.session.add(doc)
    db.session.flush()
    finished = db.session.execute(
        update(DocumentUpload)
        .where(DocumentUpload.id == upload_id, DocumentUpload.tenant_id == tenant_id,
               DocumentUpload.status == UploadStatus.PROCESSING)
        .values(status=UploadStatus.DONE, progress=100, error=None, data=None,
                document_id=doc.id, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount
    if not finished:
        db.session.rollback()
        return
    knowledge.rebuild_chunks(tenant_id=tenant_id, document_id=doc.id)  # commits it all


def _fail(upload_id: int, tenant_id: int, reason: str) -> None:
    """Mark the upload failed with the reason shown to the owner (never a finished one)."""
    db.session.rollback()
    db.session.execute(update(DocumentUpload).where(
        DocumentUpload.id == upload_id, DocumentUpload.tenant_id == tenant_id,
        DocumentUpload.status.in_([UploadStatus.QUEUED, UploadStatus.PROCESSING])).values(
        status=UploadStatus.FAILED, error=reason, progress=0, data=None, updated_at=utcnow()))
    db.session.commit()
