"""The web app (``metacascade serve``): a Dash viewer and editor over saved run folders.

:func:`~metacascade.web.app.create_app` builds the app over a folder of runs;
:func:`~metacascade.web.app.serve` starts it on loopback. See :mod:`metacascade.web.app`.
"""

from metacascade.web.app import create_app, serve

__all__ = ["create_app", "serve"]
