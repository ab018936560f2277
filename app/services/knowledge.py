"""Knowledge documents become chunks the agent retrieves from."""
from __future__ import annotations

import re

from sqlalchemy import delete, select

from app.extensions import db
from app.jobs.queueing import queue_chunking
from app.models import KnowledgeChunk, KnowledgeDocument, utcnow

CHUNK_CHARS = 800


def split_text(text: str, limit: int = CHUNK_CHARS) -> list[str]:
    """Paragraph-aligned chunks of at most ~`limit` characters (long paragraphs split on sentences)."""
    pieces: list[str] = []
    for para in re.split(r"\n\s*\n", text or ""):
        para = " ".join(para.split())
        if not para:
            continue
        if len(para) <= limit:
            pieces.append(para)
            continue
        pieces.extend(s for s in re.split(r"(?<=[.!?])\s+", para) if s)
    chunks: list[str] = []
    for piece in pieces:
        if chunks and len(chunks[-1]) + 1 + len(piece) <= limit:
            chunks[-1] = f"{chunks[-1]}\n{piece}"
        else:
            chunks.extend(piece[i : i + limit] for i in range(0, len(piece), limit))
    return chunks


def document_saved(doc: KnowledgeDocument) -> None:
    """A document added or edited is chunked again in a job (its text may be long)."""
    queue_chunking(doc.id, doc.tenant_id)


def rebuild_chunks(tenant_id: int, document_id: int) -> int:
    """Replace the document's chunks in one transaction; a missing/foreign document is a no-op."""
    doc = db.session.scalar(
        select(KnowledgeDocument).where(
            KnowledgeDocument.id == document_id, KnowledgeDocument.tenant_id == tenant_id
        )
    )
    if doc is None:
        return 0
    db.session.execute(delete(KnowledgeChunk).where(KnowledgeChunk.document_id == doc.id))
    chunks = split_text(doc.content)
    for position, content in enumerate(chunks):
        db.session.add(
            KnowledgeChunk(tenant_id=tenant_id, document_id=doc.id, position=position, content=content)
        )
    doc.chunked_at = utcnow()
    db.session.commit()
    return len(chunks)
