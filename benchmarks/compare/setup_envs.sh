#!/usr/bin/env bash
# Create one virtual environment per benchmarked system under benchmarks/compare/.envs/
# and record the exact versions installed into benchmarks/compare/versions/<env>.txt.
#
# Usage:  bash benchmarks/compare/setup_envs.sh [ENV ...]
#   ENV in: harness automl flaml autogluon autosklearn tpot hpsklearn baselines
#   (default: all, one after the other). An environment that finished before (it holds
#   a file .ok) is kept; delete .envs/<env> to rebuild it. Each install logs to
#   .envs/<env>.log. A failed install leaves .envs/<env>.failed with the error's tail,
#   and the script goes on with the next environment.
#
# Installs are slow on a 2-core machine: run it with `nice -n 10`.
set -uo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
ENVS="$HERE/.envs"
REQ="$HERE/requirements"
ALL_ENVS=(harness baselines automl flaml tpot hpsklearn autogluon autosklearn)
mkdir -p "$ENVS" "$HERE/versions"

python_for() {
    # The interpreter each environment is built from.
    case "$1" in
        autosklearn) echo "${PYTHON39:-$(pyenv root 2>/dev/null)/versions/3.9.18/bin/python3.9}" ;;
        *) echo "${PYTHON311:-python3.11}" ;;
    esac
}

install_env() {
    local name="$1" py="$2" pip="$ENVS/$1/bin/python -m pip"
    $pip install --upgrade "pip<26" || return 1
    case "$name" in
        automl)
            $pip install -e "$REPO" ;;
        autogluon)
            # Install the local CPU wheel first; a bare torch requirement would pull CUDA.
            $pip install "torch==2.13.0" && $pip install -r "$REQ/autogluon.txt" ;;
        autosklearn)
            command -v swig >/dev/null || {
                echo "swig is missing: run 'apt-get update && apt-get install -y swig'"
                return 1
            }
            # Build tools and the old numeric stack first, then auto-sklearn against them.
            $pip install "setuptools<60" wheel "Cython<3" numpy==1.23.5 &&
                $pip install -r "$REQ/autosklearn.txt" ;;
        *)
            $pip install -r "$REQ/$name.txt" ;;
    esac
}

record_versions() {
    local name="$1" out="$HERE/versions/$1.txt"
    {
        echo "# $name: $("$ENVS/$name/bin/python" --version 2>&1), recorded $(date -u +%Y-%m-%d)"
        "$ENVS/$name/bin/python" -m pip freeze --exclude-editable 2>/dev/null
        "$ENVS/$name/bin/python" -m pip freeze 2>/dev/null | grep -E '^-e ' | sed 's/^-e .*#egg=/-e (repo) /'
    } > "$out"
}

setup_one() {
    local name="$1" py
    py="$(python_for "$name")"
    if [[ -f "$ENVS/$name/.ok" ]]; then
        echo "[$name] ready (delete $ENVS/$name to rebuild)"
        return 0
    fi
    rm -rf "$ENVS/$name" "$ENVS/$name.failed"
    echo "[$name] creating with $py; log: $ENVS/$name.log"
    if ! "$py" -m venv "$ENVS/$name" > "$ENVS/$name.log" 2>&1; then
        tail -5 "$ENVS/$name.log" | tee "$ENVS/$name.failed"
        return 1
    fi
    if install_env "$name" "$py" >> "$ENVS/$name.log" 2>&1; then
        record_versions "$name"
        touch "$ENVS/$name/.ok"
        echo "[$name] done; versions in versions/$name.txt"
    else
        tail -25 "$ENVS/$name.log" > "$ENVS/$name.failed"
        echo "[$name] FAILED; see $ENVS/$name.failed"
    fi
}

main() {
    local names=("$@")
    [[ ${#names[@]} -eq 0 ]] && names=("${ALL_ENVS[@]}")
    for name in "${names[@]}"; do
        if [[ ! " ${ALL_ENVS[*]} " == *" $name "* ]]; then
            echo "unknown environment '$name'; choose from: ${ALL_ENVS[*]}" >&2
            exit 2
        fi
        setup_one "$name"
    done
}

main "$@"
