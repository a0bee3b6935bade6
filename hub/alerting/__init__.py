"""Alerts on metric trends, as events: `alerts:` rules evaluated after each fold and on a schedule.

    evaluate   which rules (and customers) hold now, and the cx.metric.alert events of what changed
    loop       the worker thread: fold newly stored responses into the counts, then evaluate
"""

from hub.alerting.evaluate import alert_event, evaluate_rules
from hub.alerting.loop import metrics_pass, run_metrics_periodically

__all__ = ["alert_event", "evaluate_rules", "metrics_pass", "run_metrics_periodically"]
