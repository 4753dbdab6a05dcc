"""A stored file as an HTTP download, the same from the REST API, the web pages and FHIR Binary.

Always an attachment, never rendered by the browser (a PDF or text a partner wrote cannot run in
carebridge's origin), with its own content type and `X-Content-Type-Options: nosniff` so the
browser does not guess another (OWASP File Upload Cheat Sheet), and not kept in shared caches.
"""

from __future__ import annotations

import io

from flask import Response, send_file

_EXTENSIONS = {"application/pdf": ".pdf", "text/plain": ".txt"}


def attachment(data: bytes, content_type: str, title: str) -> Response:
    stem = "".join(ch if ch.isalnum() or ch in " -_()" else "_" for ch in title).strip() or "document"
    response = send_file(
        io.BytesIO(data),
        mimetype=content_type,
        as_attachment=True,
        download_name=stem[:100] + _EXTENSIONS.get(content_type, ""),
        conditional=False,
        etag=False,
        max_age=0,
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    return response
