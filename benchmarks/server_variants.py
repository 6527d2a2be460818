"""Other servers for the same Flask app, compared by benchmarks/slow_clients.py --server.

Not used by moviegenre itself; each needs its server installed (pip install gevent uvicorn
asgiref). Commands, as measured for docs/api.md:

    python benchmarks/slow_clients.py --server "{python} -m gunicorn -k gevent \\
        --worker-connections 1000 -b 127.0.0.1:{port} moviegenre.serving.app:create_app()"
    python benchmarks/slow_clients.py --server "{python} -m uvicorn --factory --port {port} \\
        --limit-concurrency 1000 --app-dir benchmarks server_variants:asgi_app"
"""

from __future__ import annotations

from typing import Any


def asgi_app() -> Any:
    """The Flask app behind asgiref's WSGI-to-ASGI adapter (it reads whole bodies first)."""
    from asgiref.wsgi import WsgiToAsgi

    from moviegenre.serving.app import create_app

    return WsgiToAsgi(create_app())
