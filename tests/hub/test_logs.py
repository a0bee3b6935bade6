"""Secrets never reach a log line; each app keeps its own filter (hub/logs.py)."""

from __future__ import annotations

import gc
import logging

import plugins.webhook as webhook
from hub.logs import EXTENSION, MASK, RedactingFilter
from hub.testing import build_test_hub
from tests.conftest import APP_SOURCE, OTHER_WHSEC, WHSEC

log = logging.getLogger("cxhub.test")


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
