"""The WSGI entry point for production: `gunicorn wsgi:app`, configured by the environment
(CXHUB_CONFIG, REDIS_URL, DATABASE_URL; see the README)."""

from hub.app import create_app

app = create_app()
