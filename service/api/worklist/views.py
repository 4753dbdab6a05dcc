from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask.views import MethodView
from flask_smorest import Blueprint

from service import clock
from service.api.auth import principal
from service.api.worklist.schemas import WorklistArgs, WorklistPageSchema
from service.app import request_session
from service.usecases import access
from service.usecases.errors import Invalid
from service.usecases.worklist import WorklistFilter, home_zone, worklist

blp = Blueprint("worklist", __name__, description="The discharge planner's worklist")


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise Invalid("unknown time zone", fields={"tz": [f"'{name}' is not an IANA time zone"]}) from exc


@blp.route("")
class Worklist(MethodView):
    @blp.arguments(WorklistArgs, location="query")
    @blp.response(200, WorklistPageSchema)
    def get(self, args: dict[str, Any]) -> Any:
        """The discharge planner's worklist.

        Active stays by expected discharge date, with open, overdue and due-today work, unmet readiness and barriers:
        the stays the caller may see.
        """
        ctx = principal()
        access.require(ctx, "Encounter", "s")
        tz = zone(args.pop("tz", None) or home_zone(request_session(), ctx))
        limit, cursor = args.pop("limit"), args.pop("cursor", None)
        filters = WorklistFilter(**args)
        page = worklist(request_session(), now=clock.now(), tz=tz, filters=filters, limit=limit, cursor=cursor, ctx=ctx)
        access.listed(ctx, "Encounter", [row.stay.patient_id for row in page.rows])
        return {"rows": page.rows, "next_cursor": page.next_cursor, "time_zone": tz.key}
