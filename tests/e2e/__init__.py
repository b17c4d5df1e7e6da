"""End-to-end tests of the sync daemon: real Git repositories, real simulated gateways over
WebSockets, a real daemon (in this process or as a `molthub sync` subprocess), real HTTP."""
