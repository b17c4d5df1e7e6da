"""The OpenClaw Gateway client (WebSocket control plane) and its simulator."""
