"""The REST API (flask-smorest): one blueprint per resource, thin views over the use cases."""

from __future__ import annotations

from flask_smorest import Api


def register_api(api: Api) -> None:
    from service.api.concerns.views import blp as concerns
    from service.api.documents.views import blp as documents
    from service.api.handoffs.views import blp as handoffs
    from service.api.organizations.views import blp as organizations
    from service.api.patients.views import blp as patients
    from service.api.plans.views import blp as plans
    from service.api.referrals.views import blp as referrals
    from service.api.screenings.views import blp as screenings
    from service.api.stays.views import blp as stays
    from service.api.worklist.views import blp as worklist

    blueprints = (organizations, patients, stays, plans, referrals, documents, handoffs, worklist, screenings, concerns)
    for blueprint in blueprints:
        api.register_blueprint(blueprint, url_prefix=f"/api/{blueprint.name}")
