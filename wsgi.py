"""The WSGI entry point for production: `gunicorn wsgi:app`, configured by the environment
(CXHUB_CONFIG, REDIS_URL, DATABASE_URL; see the README).

The hub's log lines go to stderr through a root handler set up before the app is built, so the
app's secret-masking filter has a handler to sit on (gunicorn configures only its own loggers).
"""

import logging

from hub.app import create_app
from hub.events.canonical import prepare_validators

logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
app = create_app()
prepare_validators()  # now rather than on the first webhook
