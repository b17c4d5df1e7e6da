"""The aiohttp status application and webhook receivers."""
