"""What a PromQL query reads, and what the fleet exports: for the tests of the alert rules and
of the Grafana dashboard."""

from __future__ import annotations

import re

from nixfleet import areas

# What Prometheus, the node exporter and Alertmanager add to the nixfleet metrics in each host's
# textfile.
SCRAPED = {"up", "node_textfile_scrape_error", "alertmanager_notifications_failed_total"}
# PromQL's own words: operators, functions and aggregations (label lists are removed first).
PROMQL_WORDS = {"and", "or", "unless", "bool", "offset", "time", "max", "min", "sum", "count",
                "avg", "max_over_time", "min_over_time", "absent", "changes", "rate", "increase",
                "sort", "sort_desc", "topk", "bottomk", "clamp_min", "clamp_max"}  # fmt: skip


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression reads (words that are not PromQL's or labels).

    >>> sorted(metric_names('time() - a_b{x="y z"} > on(host) group_left(media) c'))
    ['a_b', 'c']
    """
    expr = re.sub(r'"[^"]*"', '""', expr)  # label values
    expr = re.sub(r"\{[^}]*\}", "", expr)  # label matchers
    expr = re.sub(r"\[[^\]]*\]", "", expr)  # ranges
    expr = re.sub(r"\b(on|ignoring|group_left|group_right|by|without)\s*\([^)]*\)", "", expr)
    words = set(re.findall(r"[a-zA-Z_:][a-zA-Z0-9_:]*", expr))
    return words - PROMQL_WORDS


def exported() -> set[str]:
    """Every metric the fleet exports: the verify's (from the areas) and what scraping adds."""
    return set(areas.metric_help()) | SCRAPED
