"""The sync daemon: source watcher, reconciler, rollout executor, state and write-back."""
