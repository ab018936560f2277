"""Retrieving the tenant's knowledge chunks relevant to a message (BM25 via rank_bm25).

Chunks are re-read on every message, so an edited document changes the next reply: there is
no separate training step to forget.
"""
from __future__ import annotations

from functools import lru_cache

from rank_bm25 import BM25Okapi
from sqlalchemy import select

from app.ai.catalog import keywords
from app.extensions import db
from app.models import KnowledgeChunk

MAX_CHUNKS = 2000


@lru_cache(maxsize=8192)
def _terms(chunk: str) -> list[str]:
    """A chunk's BM25 terms, cached by its text (an edited chunk is new text: no stale entry).
    Callers must not change the list."""
    return keywords(chunk) or ["_"]


def retrieve(tenant_id: int, query: str, k: int = 3) -> list[str]:
    chunks = db.session.scalars(select(KnowledgeChunk.content).where(
        KnowledgeChunk.tenant_id == tenant_id).order_by(KnowledgeChunk.id).limit(MAX_CHUNKS)).all()
    asked = keywords(query)
    if not chunks or not asked:
        return []
    corpus = [_terms(c) for c in chunks]
    scores = BM25Okapi(corpus).get_scores(asked)
    # BM25's idf goes negative for a term in most documents (always, with one document), so
    # relevance is "shares a word with the question", ranked by the BM25 score.
    wanted = set(asked)
    ranked = sorted((i for i in range(len(chunks)) if wanted & set(corpus[i])),
                    key=lambda i: scores[i], reverse=True)
    return [chunks[i] for i in ranked[:k]]
