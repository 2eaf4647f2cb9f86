"""The PromQL of the alert rules and the dashboard (k8s/components/monitoring), and the metric names
each expression references: no promtool, so a small lexer that drops strings, label matchers, grouping
clauses and durations and keeps the identifiers that are not PromQL functions or keywords."""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml

MONITORING = Path(__file__).parents[1] / "k8s" / "components" / "monitoring"
_KEYWORDS = {
    "sum", "min", "max", "avg", "count", "stddev", "stdvar", "topk", "bottomk", "quantile", "group",
    "by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless", "bool", "offset",
    "rate", "irate", "increase", "delta", "idelta", "deriv", "histogram_quantile", "abs", "absent",
    "clamp_min", "clamp_max", "sum_over_time", "avg_over_time", "max_over_time", "min_over_time", "time",
    "vector", "scalar", "le", "inf", "nan",
}  # fmt: skip
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_MATCHERS = re.compile(r"\{[^{}]*\}")
_GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^()]*\)")
_RANGE = re.compile(r"\[[^\]]*\]")
_IDENT = re.compile(r"(?<![\w.])[a-zA-Z_:][a-zA-Z0-9_:]*")


def rule_expressions() -> list[str]:
    rule = yaml.safe_load((MONITORING / "prometheusrule.yaml").read_text())
    alerts = [r["expr"] for group in rule["spec"]["groups"] for r in group["rules"]]
    dashboard = json.loads((MONITORING / "dashboard.json").read_text())
    queries = [t["expr"] for panel in dashboard["panels"] for t in panel.get("targets", [])]
    return alerts + queries


def referenced_metrics(expr: str) -> set[str]:
    """Metric names in ``expr``; raises ValueError when brackets do not balance (a broken expression)."""
    depth = 0
    for char in _STRING.sub('""', expr):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth < 0:
            raise ValueError(f"unbalanced parentheses: {expr}")
    if depth:
        raise ValueError(f"unbalanced parentheses: {expr}")
    text = _RANGE.sub(" ", _GROUPING.sub(" ", _MATCHERS.sub(" ", _STRING.sub(" ", expr))))
    return {name for name in _IDENT.findall(text) if name.lower() not in _KEYWORDS}
