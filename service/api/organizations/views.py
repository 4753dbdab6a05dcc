from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from service.api.auth import principal
from service.api.organizations.schemas import OrganizationQuery, OrganizationSchema
from service.app import request_session
from service.usecases import access, parties

blp = Blueprint("organizations", __name__, description="Hospitals, facilities, agencies and payers")


@blp.route("")
class Organizations(MethodView):
    @blp.arguments(OrganizationQuery, location="query")
    @blp.response(200, OrganizationSchema(many=True))
    def get(self, args: dict[str, Any]) -> Any:
        """List organisations.

        Hospitals, skilled nursing facilities, home-health agencies, payers and primary care, optionally of one `kind`.
        """
        # The directory of organisations holds no patient data: any principal with the scope reads all of it.
        access.require(principal(), "Organization", "s")
        return parties.list_organizations(request_session(), kind=args.get("kind"))

    @blp.arguments(OrganizationSchema)
    @blp.response(201, OrganizationSchema)
    def post(self, data: dict[str, Any]) -> Any:
        """Register an organisation.

        Adds a hospital, facility, agency, payer or primary-care practice; its business identifiers are kept as sent.
        """
        ctx = principal()
        access.require(ctx, "Organization", "c")
        return parties.add_organization(request_session(), actor=ctx.actor, **data)
