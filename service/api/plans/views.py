from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from service.api.auth import principal
from service.api.common import expected_version
from service.api.plans.schemas import CasePlanSchema, CasePlanUpdateSchema, GoalSchema, GoalUpdateSchema
from service.app import request_session
from service.usecases import access, plans

blp = Blueprint("plans", __name__, description="Case plans and their goals")


@blp.route("")
class CasePlans(MethodView):
    @blp.arguments(CasePlanSchema)
    @blp.response(201, CasePlanSchema)
    def post(self, data: dict[str, Any]) -> Any:
        """Start a case plan.

        A plan for one patient (FHIR CarePlan, US Core assess-plan), optionally for one stay.
        """
        ctx, session = principal(), request_session()
        access.creatable_for(session, ctx, "CarePlan", data["patient_id"])
        access.linkable(session, ctx, "Encounter", data.get("stay_id"))
        return plans.create_case_plan(session, actor=ctx.actor, **data)


@blp.route("/<plan_id>")
class CasePlanById(MethodView):
    @blp.response(200, CasePlanSchema)
    def get(self, plan_id: str) -> Any:
        """Read a case plan.

        The plan with its goals.
        """
        return access.readable(request_session(), principal(), "CarePlan", plan_id)

    @blp.arguments(CasePlanUpdateSchema)
    @blp.response(200, CasePlanSchema)
    def patch(self, changes: dict[str, Any], plan_id: str) -> Any:
        """Change a case plan.

        Only the fields sent change; an empty body or `{}` is refused with 422.
        """
        ctx, session = principal(), request_session()
        access.writable(session, ctx, "CarePlan", plan_id)
        return plans.update_case_plan(session, plan_id, changes, actor=ctx.actor, expected_version=expected_version())


@blp.route("/<plan_id>/goals")
class Goals(MethodView):
    @blp.arguments(GoalSchema)
    @blp.response(201, GoalSchema)
    def post(self, data: dict[str, Any], plan_id: str) -> Any:
        """Add a goal to a plan.

        A goal (FHIR Goal) under the plan, for the plan's patient.
        """
        ctx, session = principal(), request_session()
        access.require(ctx, "Goal", "c")
        access.writable(session, ctx, "CarePlan", plan_id)
        return plans.add_goal(session, plan_id, actor=ctx.actor, **data)


@blp.route("/goals/<goal_id>")
class GoalById(MethodView):
    @blp.response(200, GoalSchema)
    def get(self, goal_id: str) -> Any:
        """Read a goal.

        The goal with its lifecycle and achievement status.
        """
        return access.readable(request_session(), principal(), "Goal", goal_id)

    @blp.arguments(GoalUpdateSchema)
    @blp.response(200, GoalSchema)
    def patch(self, changes: dict[str, Any], goal_id: str) -> Any:
        """Change a goal.

        Only the fields sent change; an empty body or `{}` is refused with 422.
        """
        ctx, session = principal(), request_session()
        access.writable(session, ctx, "Goal", goal_id)
        return plans.update_goal(session, goal_id, changes, actor=ctx.actor, expected_version=expected_version())
