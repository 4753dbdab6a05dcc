"""The ``web`` blueprint object, shared by the page modules (registered at ``/app``)."""

from flask import Blueprint

blueprint = Blueprint("web", __name__, template_folder="templates", static_folder="static", static_url_path="/static")
