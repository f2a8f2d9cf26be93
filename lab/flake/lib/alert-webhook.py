"""Lab stand-in for an alert receiver (the real flake mails or pushes alerts): an HTTP server on
loopback that appends every notification Alertmanager POSTs to it, one JSON document per line.

Usage: alert-webhook.py PORT LOG
"""

import http.server
import json
import sys
from pathlib import Path

PORT, LOG = int(sys.argv[1]), Path(sys.argv[2])


class Record(http.server.BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            line = json.dumps(json.loads(body), sort_keys=True)
        except ValueError:
            self.send_response(400)
            self.end_headers()
            return
        with LOG.open("a") as log:
            log.write(line + "\n")
        self.send_response(200)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass  # the log file is the record


http.server.HTTPServer(("127.0.0.1", PORT), Record).serve_forever()
