"""Entry point for Celery workers and beat: ``celery -A service.worker worker``."""

from service.app import create_app

flask_app = create_app()
celery_app = flask_app.extensions["celery"]
