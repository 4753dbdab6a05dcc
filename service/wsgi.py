"""WSGI entry point for gunicorn in containers: ``gunicorn service.wsgi:app``."""

from service.app import create_app

app = create_app()
