#!/usr/bin/env python3
"""Consul-style `checks` watch handler: appends one line per call to checks.log next to this file.

The agent passes the current health checks as JSON on stdin (exactly what
GET /v1/health/state/any returns) and the index in CONSUL_INDEX.
"""
import json
import os
import sys
import time

checks = json.load(sys.stdin) or []
summary = ",".join("%s=%s" % (c["CheckID"], c["Status"]) for c in checks)
line = "%s index=%s %s\n" % (time.strftime("%Y-%m-%dT%H:%M:%S"), os.environ.get("CONSUL_INDEX", "?"), summary)
with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "checks.log"), "a") as f:
    f.write(line)
