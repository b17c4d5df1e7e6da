"""A protocol-faithful OpenClaw Gateway simulator over real WebSockets on loopback."""
