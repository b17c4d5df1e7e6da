"""Planning: desired-vs-desired and desired-vs-observed diffs, rollout waves (pure)."""
