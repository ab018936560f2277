"""Entry point: `flask --app run ...`, `gunicorn run:app`, or `python run.py` (embedded default)."""
import gc
import os

from app import create_app

app = create_app()
if not app.config.get("REDIS_URL"):  # the embedded default: its jobs run on threads of this process
    from app.jobs.threads import InProcessWorkers

    InProcessWorkers.with_first_request(app)
# The app built here lives as long as the process: keep it out of the garbage collector's
# full collections, which otherwise walk it all (~250 ms with the GIL held) now and then in
# every gunicorn worker. Worker processes do the same after their warm-up.
gc.freeze()

if __name__ == "__main__":
    app.run(host="127.0.0.1", port=int(os.environ.get("PORT", "5000")), threaded=True)
