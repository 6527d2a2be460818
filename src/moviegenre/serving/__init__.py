"""Serving: the Flask app (page and JSON API) and the production WSGI server."""
