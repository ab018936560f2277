"""The baseline: a bare Flask endpoint that reads the body and answers 200 (no work at all)."""
from flask import Flask, jsonify, request

app = Flask(__name__)


@app.post("/webhooks/meta")
def receive():
    request.get_data()
    return jsonify(status="ok")
