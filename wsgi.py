"""The WSGI entry point for production: `gunicorn wsgi:app`, configured by the environment
(CXHUB_CONFIG, REDIS_URL, DATABASE_URL; see the README)."""

from hub.app import create_app
from hub.events.canonical import event_validator

app = create_app()
event_validator()  # now rather than on the first webhook
