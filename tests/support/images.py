"""Public image names, overridable by the lab's stand-ins (../shared/lab/README.md).

Code and defaults name the public images; on a machine without registry access
the lab exports ESCALAFIN_*_IMAGE so the same tests run against local stand-ins.
"""

import os

POSTGRES = os.environ.get("ESCALAFIN_POSTGRES_IMAGE", "postgres:17-alpine")
REDIS = os.environ.get("ESCALAFIN_REDIS_IMAGE", "redis:7-alpine")
PYTHON = os.environ.get("ESCALAFIN_PYTHON_IMAGE", "python:3.13-slim")
NODE = os.environ.get("ESCALAFIN_NODE_IMAGE", "node:20-slim")
S3 = os.environ.get("ESCALAFIN_S3_IMAGE", "versity/versitygw:v1.7.0")
CADDY = os.environ.get("ESCALAFIN_CADDY_IMAGE", "caddy:2-alpine")
PEBBLE = os.environ.get("ESCALAFIN_PEBBLE_IMAGE", "ghcr.io/letsencrypt/pebble:latest")
DOCKER_CLI = os.environ.get("ESCALAFIN_DOCKER_CLI", "docker")
