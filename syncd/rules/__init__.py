"""The SOP rules engine: YAML rule files compiled to a pure `evaluate(ticket, now)`."""

from syncd.rules.engine import RuleSet, load_rules

__all__ = ["RuleSet", "load_rules"]
