"""Reports: findings and diffs -> text, json, sarif, github, junit, markdown (pure)."""
