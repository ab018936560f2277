"""Knowledge jobs."""
from app.jobs.context import job
from app.services import knowledge


@job
def chunk_document(document_id: int, tenant_id: int) -> int:
    """Rebuild a document's retrievable chunks; returns how many (idempotent)."""
    return knowledge.rebuild_chunks(tenant_id=tenant_id, document_id=document_id)
