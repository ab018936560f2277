"""GET /health: is the database usable, is the job queue reachable (200 or 503, JSON)."""
from flask import Blueprint, current_app, jsonify
from sqlalchemy import text

from app.extensions import db

bp = Blueprint("health", __name__)


@bp.get("/health")
def health():
    checks = {}
    try:
        db.session.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:  # report, don't raise: a health check must answer
        db.session.rollback()
        checks["database"] = f"error: {type(exc).__name__}"
    redis = current_app.extensions["redis"]
    if not current_app.config.get("REDIS_URL"):
        checks["queue"] = "inline"  # the embedded default's in-memory queue
    else:
        try:
            redis.ping()
            checks["queue"] = "ok"
        except Exception as exc:
            checks["queue"] = f"error: {type(exc).__name__}"
    healthy = all(v in ("ok", "inline") for v in checks.values())
    return jsonify(status="ok" if healthy else "unavailable", **checks), (200 if healthy else 503)
