"""The portal: the objection site, the privacy officer's console and the JSON API.

Only this package imports the web framework (FastAPI, Starlette, Jinja2). It holds no
rules of its own about requests: every step goes through :class:`notrain.registry.service.
Registry`, one registry (one database session) per HTTP request. ``create_app`` builds the
application; ``notrain serve`` runs it under uvicorn.
"""

from notrain.portal.app import create_app

__all__ = ["create_app"]
