#!/usr/bin/env bash
# Entry point of the worker images: run one stage of dvc.yaml, or any command.
#   run-stage.sh <stage>        in a checkout (/workspace): dvc pull what the stage needs, run it, dvc push its outputs
#   run-stage.sh <command ...>  run the command as it is (python -m tasks.training.train, dvc exp run ..., bash)
# DVC_NO_REMOTE=1 skips pull/push (a mounted checkout with a local cache). Credentials for an S3 remote come from the
# environment or an AWS profile, never from the image.
set -euo pipefail

if [[ $# -eq 0 || "$1" == "--help" ]]; then
    sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//'
    stages=$(python -c 'import yaml; print(" ".join(yaml.safe_load(open("/app/dvc.yaml"))["stages"]))')
    echo "stages: ${stages}"
    exit 0
fi

stage="$1"
if python -c 'import sys, yaml; sys.exit(0 if sys.argv[1] in yaml.safe_load(open("dvc.yaml"))["stages"] else 1)' "$stage" 2>/dev/null; then
    if [[ "${DVC_NO_REMOTE:-0}" != "1" ]]; then
        dvc pull --with-deps --allow-missing "$stage" || echo "run-stage: dvc pull found nothing to fetch for '$stage'" >&2
    fi
    dvc repro --single-item "$stage"
    if [[ "${DVC_NO_REMOTE:-0}" != "1" ]]; then
        dvc push "$stage"
    fi
else
    exec "$@"
fi
