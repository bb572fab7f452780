#!/usr/bin/env bash
# One lease's GPU checks (issue 10) as one command: the GPU tests, then benchmarks/bench_device.py; logs and results
# under $OUT. The machine reaches no registry: pymoo and its needs travel as wheels in .whl (ignored by git), made here
# once with
#   for spec in pymoo==0.6.2 moocore==0.3.2 cffi pycparser platformdirs autograd==1.9.1 cma==4.5.0 \
#       alive-progress==3.3.0 about-time==4.2.1 graphemeu==0.7.2 Deprecated==1.3.1 dill==0.4.1; do
#     python -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
#       --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 -d .whl $spec
#   done
# and the run carries it: run(command="bash benchmarks/device_check.sh", carry=[".whl"], timeout_s=540).
set -o pipefail
OUT=${OUT:-device-out}
mkdir -p "$OUT"
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 1
export PYTHONPATH=/tmp/site:$PWD PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv | tee "$OUT/gpu.txt"
python3 -m pytest tests/test_gpu.py tests/test_amp.py -q -p no:cacheprovider -o addopts="-ra" -x 2>&1 | tee "$OUT/gpu-tests.log"
python3 benchmarks/bench_device.py --device cuda --out "$OUT" 2>&1 | tee "$OUT/bench.log"
