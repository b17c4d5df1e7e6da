"""The daemon's HTTP face: the aiohttp status page, JSON API, Prometheus metrics, health
endpoints, webhook receivers and the control API; and the static status page built from the
status branch (``molthub status-page``)."""
