"""plotly.min.js, served by the app from the installed plotly package (no CDN).

The URL carries the package version, so the file may be cached for a year: a new plotly
release is a new URL. Public like the rest of the static folder: it is the library, no data.
"""
from __future__ import annotations

from pathlib import Path

import plotly
from flask import abort, send_file
from flask_appbuilder import BaseView, expose

PLOTLY_JS = Path(plotly.__file__).resolve().parent / "package_data" / "plotly.min.js"
PLOTLY_VERSION = plotly.__version__
ONE_YEAR = 365 * 24 * 3600


class PlotlyAssetView(BaseView):
    route_base = "/assets"
    default_view = "plotly_js"

    @expose("/plotly-<version>.min.js")
    def plotly_js(self, version):
        if version != PLOTLY_VERSION or not PLOTLY_JS.is_file():
            abort(404)
        resp = send_file(PLOTLY_JS, mimetype="text/javascript", max_age=ONE_YEAR, conditional=True)
        resp.cache_control.public = True
        resp.cache_control.immutable = True
        return resp
