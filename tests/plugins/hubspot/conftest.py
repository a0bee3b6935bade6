"""HubSpot test fixtures: `start_process` (real `cxhub` processes) is the fault tests' own."""

from tests.faults.conftest import start_process  # noqa: F401  (a fixture, used by test_hubspot_oauth)
