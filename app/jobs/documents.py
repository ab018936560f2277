"""Document jobs: an uploaded file becomes the agent's knowledge."""
from app.jobs.context import job
from app.services import documents


@job
def extract_document(upload_id: int, tenant_id: int) -> str:
    """Read an uploaded document's text and index it; returns the upload's final status."""
    return documents.process(tenant_id=tenant_id, upload_id=upload_id)
