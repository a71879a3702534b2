#!/bin/sh
# Starts s3rver (pinned in package.json; `npm ci` here installs it) on 127.0.0.1:PORT with its
# data in DIR, bucket BUCKET (default "fanout"), every request's SigV4 signature checked against
# the key pair S3RVER / S3RVER. Runs in the foreground until SIGTERM.
set -eu
if [ $# -lt 2 ]; then
  echo "usage: $0 PORT DIR [BUCKET]" >&2
  exit 2
fi
here=$(cd "$(dirname "$0")" && pwd)
if [ ! -d "$here/node_modules/s3rver" ]; then
  echo "$0: s3rver is not installed: run 'npm ci' in $here" >&2
  exit 3
fi
mkdir -p "$2"
exec node "$here/start.js" "$1" "$2" "${3:-fanout}"
