"""Policy: rule types, built-in packs and exceptions -> findings (pure)."""
