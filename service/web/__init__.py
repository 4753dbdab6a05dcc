"""Server-rendered pages for discharge planners, case managers and receiving facilities (Flask + Jinja + htmx).

Every asset is served from ``static/`` (htmx is a pinned copy), so the pages work offline.
"""

from service.web import (  # noqa: F401
    analytics,
    authorize,
    case,
    documents,
    handoff_actions,
    launch,
    matches,
    queue,
    screening,
    session,
    worklist,
)
from service.web.blueprint import blueprint

__all__ = ["blueprint"]
