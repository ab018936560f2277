"""What an uploaded document is (by its bytes, never its name) and the text inside it.

Accepted: PDF (starts with the `%PDF-` magic), DOCX (a zip archive holding
`word/document.xml`), and plain UTF-8 text (TXT, or Markdown when the name says so: the two
differ only in name). A file whose name claims one type while its bytes are another is
refused, so a renamed executable or spreadsheet never reaches the extractors. pypdf and
python-docx do the reading; any error they raise on a damaged file becomes a DocumentError
with a message for the person who uploaded it.
"""
from __future__ import annotations

import io
import logging
import zipfile
from collections.abc import Callable
from pathlib import PurePath

from app.models import DocumentKind

DOCX_PART = "word/document.xml"
# A DOCX unpacks to a few times its size; far more is a zip bomb, not a document.
MAX_UNPACKED_BYTES = 64 * 1024 * 1024
NAMED_KINDS = {".pdf": DocumentKind.PDF, ".docx": DocumentKind.DOCX, ".txt": DocumentKind.TXT,
               ".md": DocumentKind.MD, ".markdown": DocumentKind.MD}
LABELS = {DocumentKind.PDF: "a PDF", DocumentKind.DOCX: "a Word (DOCX) document",
          DocumentKind.TXT: "a text file", DocumentKind.MD: "a Markdown file"}
TEXT_KINDS = {DocumentKind.TXT, DocumentKind.MD}

# pypdf reports every oddity of a damaged file on its logger; the upload's error says enough.
logging.getLogger("pypdf").setLevel(logging.ERROR)


class DocumentError(ValueError):
    """A file that can't become knowledge; the message is shown to whoever uploaded it."""


def sniff(data: bytes, filename: str) -> DocumentKind:
    """The document's kind from its content, checked against what its name claims."""
    if not data:
        raise DocumentError("The file is empty")
    if data.startswith(b"%PDF-"):
        kind = DocumentKind.PDF
    elif data.startswith(b"PK\x03\x04"):
        kind = _zip_kind(data)
    else:
        _decode(data)
        kind = DocumentKind.MD if _named(filename) == DocumentKind.MD else DocumentKind.TXT
    named = _named(filename)
    if named is not None and not (named == kind or {named, kind} <= TEXT_KINDS):
        raise DocumentError(f"The file is named like {LABELS[named]}, but its content is "
                            f"{LABELS[kind]}")
    return kind


def _named(filename: str) -> DocumentKind | None:
    return NAMED_KINDS.get(PurePath(filename or "").suffix.lower())


def _zip_kind(data: bytes) -> DocumentKind:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, ValueError) as exc:
        raise DocumentError("The file looks like a Word document but is damaged") from exc
    if DOCX_PART not in {entry.filename for entry in entries}:
        raise DocumentError("The file is a zip archive, not a Word (DOCX) document")
    if sum(entry.file_size for entry in entries) > MAX_UNPACKED_BYTES:
        raise DocumentError("The Word document unpacks to far more than a document's size")
    return DocumentKind.DOCX


def _decode(data: bytes) -> str:
    if b"\x00" in data:
        raise DocumentError("The file is not a PDF, DOCX, text or Markdown file")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DocumentError("The text file is not UTF-8 encoded: save it as UTF-8 and "
                            "upload it again") from exc


def check_readable(data: bytes, kind: DocumentKind) -> None:
    """Open the file's structure (cheap, before anything is saved) to refuse a damaged one."""
    if kind == DocumentKind.PDF:
        _pdf_pages(data)
    elif kind == DocumentKind.DOCX:
        _docx(data)


def _pdf_pages(data: bytes):
    from pypdf import PdfReader

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise DocumentError("The PDF is password-protected: upload an unprotected copy")
        pages = list(reader.pages)
    except DocumentError:
        raise
    except Exception as exc:  # pypdf raises many types on damaged files
        raise DocumentError("The PDF is damaged and can't be read") from exc
    if not pages:
        raise DocumentError("The PDF has no pages")
    return pages


def _docx(data: bytes):
    import docx

    try:
        return docx.Document(io.BytesIO(data))
    except Exception as exc:  # python-docx raises lxml, zip and key errors on damaged files
        raise DocumentError("The Word document is damaged and can't be read") from exc


def extract_text(data: bytes, kind: DocumentKind,
                 on_progress: Callable[[int, int], None] | None = None) -> str:
    """The document's text; `on_progress(done, total)` is called as parts are read.

    Raises DocumentError for a damaged file or one with no text (e.g. a scanned PDF).
    """
    report = on_progress or (lambda done, total: None)
    if kind == DocumentKind.PDF:
        pages = _pdf_pages(data)
        parts = []
        for number, page in enumerate(pages, start=1):
            try:
                parts.append(page.extract_text() or "")
            except Exception as exc:
                raise DocumentError(f"Page {number} of the PDF is damaged and can't be "
                                    "read") from exc
            report(number, len(pages))
        text = "\n\n".join(parts)
    elif kind == DocumentKind.DOCX:
        text = _docx_text(_docx(data))
        report(1, 1)
    else:
        text = _decode(data)
        report(1, 1)
    text = text.replace("\x00", "").strip()
    if not text:
        raise DocumentError("No text found in the document (a scanned PDF needs text "
                            "recognition first)")
    return text


def _docx_text(document) -> str:
    """Paragraphs, then each table row as `cell | cell` (price lists often live in tables)."""
    parts = [p.text for p in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            parts.append(" | ".join(cell.text.strip() for cell in row.cells))
    return "\n\n".join(part for part in parts if part.strip())
