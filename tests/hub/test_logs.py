"""Secrets never reach a log line; each app keeps its own filter (hub/logs.py)."""

from __future__ import annotations

import gc
import logging
import os
import subprocess
import sys
from pathlib import Path

import plugins.webhook as webhook
from hub.logs import EXTENSION, MASK, RedactingFilter
from hub.testing import build_test_hub
from tests.conftest import APP_SOURCE, OTHER_WHSEC, WHSEC

log = logging.getLogger("cxhub.test")
ROOT = Path(__file__).resolve().parents[2]


def test_each_app_masks_its_secrets_in_every_line(make_hub, caplog):
    first = make_hub(APP_SOURCE, plugins=[webhook], env={"APP_SECRET": WHSEC})
    second = make_hub(APP_SOURCE, plugins=[webhook], env={"APP_SECRET": OTHER_WHSEC})
    with caplog.at_level(logging.INFO, logger="cxhub.test"):
        log.info("first %s, second %s", WHSEC, OTHER_WHSEC)
    assert WHSEC not in caplog.text and OTHER_WHSEC not in caplog.text
    assert caplog.text.count(MASK) == 2
    # Each app's filter holds its own secret and not the other's.
    assert first.app.extensions[EXTENSION].values == [WHSEC]
    assert second.app.extensions[EXTENSION].values == [OTHER_WHSEC]


def test_an_app_that_is_gone_takes_its_filter_and_secrets_with_it(cxhub_redis_url, cxhub_database_url,
                                                                  tmp_path, caplog):
    handler = caplog.handler
    test_hub = build_test_hub(APP_SOURCE, tmp_path, redis_url=cxhub_redis_url, database_url=cxhub_database_url,
                              plugins=[webhook], env={"APP_SECRET": WHSEC})
    redactor = test_hub.app.extensions[EXTENSION]
    assert redactor in handler.filters
    test_hub.close()
    del test_hub
    gc.collect()
    assert redactor not in handler.filters


def test_a_secret_containing_another_is_masked_whole():
    admin_token = WHSEC + "-admin"
    redactor = RedactingFilter([WHSEC, admin_token, "abc", None])
    record = logging.LogRecord("cxhub.test", logging.INFO, __file__, 1, "token %s", (admin_token,), None)
    redactor.filter(record)
    assert record.getMessage() == f"token {MASK}"
    assert redactor.values == [admin_token, WHSEC]  # values under four characters are not masked


def test_a_traceback_is_masked_too():
    redactor = RedactingFilter([WHSEC])
    try:
        raise RuntimeError(f"could not reach https://example.com/hook?token={WHSEC}")
    except RuntimeError:
        record = logging.LogRecord("cxhub.test", logging.ERROR, __file__, 1, "failed", (), sys.exc_info())
    redactor.filter(record)
    text = logging.Formatter().format(record)
    assert "RuntimeError" in text and WHSEC not in text and MASK in text


def test_the_production_entry_point_masks_secrets_in_its_log(tmp_path):
    """`gunicorn wsgi:app` configures no root handler: wsgi.py does, so the app's filter applies."""
    config = tmp_path / "cxhub.yaml"
    config.write_text(APP_SOURCE)
    script = ("import logging, wsgi; logging.getLogger('cxhub.test').warning('secret is %s', "
              f"{WHSEC!r}); wsgi.app.logger.error('again %s', {WHSEC!r})")
    env = {**os.environ, "CXHUB_CONFIG": str(config), "CXHUB_DATA_DIR": str(tmp_path / "data"),
           "APP_SECRET": WHSEC}
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert WHSEC not in done.stderr and done.stderr.count(MASK) == 2, done.stderr
