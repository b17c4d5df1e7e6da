"""The sync daemon: watch the config repository, gate each commit through validation, observe
every bot's Gateway, roll changes out in stages with health gates and rollback, and write status
and a hash-chained audit log back to the status branch.

Modules: ``state`` (the status model), ``audit`` (the chained log), ``clock``, ``source`` (clone,
fetch, poll), ``statusbranch`` (read and write the status branch), ``pool`` (pooled Gateway
connections), ``observer`` (observe bots, classify them), ``rollout`` (run one fleet's
rollout), ``providers`` (provider registry), ``daemon`` (the loop that ties them together).
"""
