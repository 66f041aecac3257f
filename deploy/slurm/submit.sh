#!/usr/bin/env bash
# Submit a sharded lrtsim run to Slurm: an array of N shard tasks (shard.sbatch) and a merge
# job (merge.sbatch) that starts only when every shard succeeded and writes the same files an
# unsharded `lrtsim run` writes. See docs/scale-out.md.
#
#   deploy/slurm/submit.sh [OPTIONS] SCENARIO
#
# Prints "ARRAY_JOB_ID MERGE_JOB_ID" on stdout (one line, for scripts) and what it did on
# stderr. Options (environment variable defaults in brackets):
#   -n, --shards N         number of shards, 1 to Slurm's MaxArraySize [SHARDS, default 4]
#   -o, --out DIR          directory for the merged results [OUT_DIR, default out/<scenario file stem>]
#   -p, --parts DIR        directory for the partial files [PARTS_DIR, default <out>.parts]
#   -l, --logs DIR         directory for the jobs' output files [LOG_DIR, default <parts>/logs]
#   -b, --lrtsim PATH      lrtsim binary [LRTSIM, else `lrtsim` on PATH, else target/release/lrtsim]
#   -c, --cpus-per-task C  CPUs (and threads) per shard task [CPUS_PER_TASK, default 1]
#       --merge-cpus C     CPUs (and threads) of the merge job [MERGE_CPUS, default 1]
#   -s, --set KEY=VALUE    scenario override passed to every shard; repeatable
#       --run-arg ARG      extra `lrtsim run` argument for every shard; repeatable
#       --merge-arg ARG    extra `lrtsim merge` argument; repeatable
#       --max-running K    run at most K shard tasks at once (--array=0-(N-1)%K)
#       --sbatch ARG       extra sbatch option for both jobs, e.g. --sbatch=--partition=batch; repeatable
#       --shard-sbatch ARG extra sbatch option for the shard array only; repeatable
#       --merge-sbatch ARG extra sbatch option for the merge job only; repeatable
#       --name NAME        job name prefix [default lrtsim-<scenario file stem>]
#       --no-validate      skip `lrtsim validate` on the submitting machine (e.g. when the
#                          binary only runs on the compute nodes)
#       --dry-run          print the two sbatch commands instead of running them
#   -h, --help             this help
# sbatch itself also reads SBATCH_PARTITION, SBATCH_ACCOUNT, SBATCH_TIMELIMIT, SBATCH_QOS, ...
# from the environment, so site settings need no option here.
#
# The binary, the scenario file and the three directories must be on a file system that all
# compute nodes see; relative paths are made absolute here. Use one parts directory per run:
# partial files that do not belong to this run's N shards make the submission stop.
set -euo pipefail

here=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
prog=${0##*/}

usage() {
    sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"
}
die() {
    echo "$prog: error: $*" >&2
    exit 2
}
need_value() {
    [[ $# -ge 2 ]] || die "option $1 needs a value"
}

shards=${SHARDS:-4}
out=${OUT_DIR:-}
parts=${PARTS_DIR:-}
logs=${LOG_DIR:-}
lrtsim=${LRTSIM:-}
cpus=${CPUS_PER_TASK:-1}
merge_cpus=${MERGE_CPUS:-1}
name=
max_running=
validate=1
dry_run=0
scenario=
run_args=()
merge_args=()
sbatch_both=()
sbatch_shard=()
sbatch_merge=()

while [[ $# -gt 0 ]]; do
    arg=$1
    case $arg in
    --*=*)
        # --opt=value: split and handle as "--opt value"
        shift
        set -- "${arg%%=*}" "${arg#*=}" "$@"
        continue
        ;;
    esac
    case $arg in
    -n | --shards) need_value "$@"; shards=$2; shift 2 ;;
    -o | --out) need_value "$@"; out=$2; shift 2 ;;
    -p | --parts) need_value "$@"; parts=$2; shift 2 ;;
    -l | --logs) need_value "$@"; logs=$2; shift 2 ;;
    -b | --lrtsim) need_value "$@"; lrtsim=$2; shift 2 ;;
    -c | --cpus-per-task) need_value "$@"; cpus=$2; shift 2 ;;
    --merge-cpus) need_value "$@"; merge_cpus=$2; shift 2 ;;
    -s | --set) need_value "$@"; run_args+=(--set "$2"); shift 2 ;;
    --run-arg) need_value "$@"; run_args+=("$2"); shift 2 ;;
    --merge-arg) need_value "$@"; merge_args+=("$2"); shift 2 ;;
    --max-running) need_value "$@"; max_running=$2; shift 2 ;;
    --sbatch) need_value "$@"; sbatch_both+=("$2"); shift 2 ;;
    --shard-sbatch) need_value "$@"; sbatch_shard+=("$2"); shift 2 ;;
    --merge-sbatch) need_value "$@"; sbatch_merge+=("$2"); shift 2 ;;
    --name) need_value "$@"; name=$2; shift 2 ;;
    --no-validate) validate=0; shift ;;
    --dry-run) dry_run=1; shift ;;
    -h | --help) usage; exit 0 ;;
    --) shift; break ;;
    -*) die "unknown option $arg (see $prog --help)" ;;
    *)
        [[ -z $scenario ]] || die "one scenario per submission (got $scenario and $arg)"
        scenario=$arg
        shift
        ;;
    esac
done
if [[ $# -gt 0 ]]; then
    [[ -z $scenario && $# -eq 1 ]] || die "one scenario per submission"
    scenario=$1
fi
[[ -n $scenario ]] || die "no scenario file given (see $prog --help)"
[[ -f $scenario ]] || die "scenario file $scenario not found"

is_count() { [[ $1 =~ ^[1-9][0-9]*$ ]]; }
is_count "$shards" || die "--shards must be a positive integer, got '$shards'"
is_count "$cpus" || die "--cpus-per-task must be a positive integer, got '$cpus'"
is_count "$merge_cpus" || die "--merge-cpus must be a positive integer, got '$merge_cpus'"
[[ -z $max_running ]] || is_count "$max_running" || die "--max-running must be a positive integer, got '$max_running'"

[[ $dry_run == 1 ]] || command -v sbatch >/dev/null || die "sbatch not found: run this on a Slurm submit host"

# The lrtsim binary: option or $LRTSIM, else on PATH, else this checkout's release build.
if [[ -z $lrtsim ]]; then
    if command -v lrtsim >/dev/null; then
        lrtsim=$(command -v lrtsim)
    else
        lrtsim=$here/../../target/release/lrtsim
    fi
fi

abspath() { realpath -m -- "$1"; }
scenario=$(abspath "$scenario")
lrtsim=$(abspath "$lrtsim")
stem=$(basename -- "$scenario" .toml)
[[ -n $out ]] || out=out/$stem
out=$(abspath "$out")
[[ -n $parts ]] || parts=$out.parts
parts=$(abspath "$parts")
[[ -n $logs ]] || logs=$parts/logs
logs=$(abspath "$logs")
[[ -n $name ]] || name=lrtsim-$stem
[[ $parts != "$out" ]] || die "the parts directory must differ from the output directory ($out)"

if [[ $validate == 1 ]]; then
    [[ -x $lrtsim ]] || die "lrtsim binary $lrtsim not found or not executable (set --lrtsim or LRTSIM; --no-validate if it exists only on the compute nodes)"
    # Catches a bad scenario or --set here instead of in N failed tasks. Only --set goes to
    # validate; other run arguments are checked by the shards themselves.
    sets=()
    for ((i = 0; i < ${#run_args[@]}; i++)); do
        if [[ ${run_args[i]} == --set && $((i + 1)) -lt ${#run_args[@]} ]]; then
            sets+=(--set "${run_args[i + 1]}")
        fi
    done
    "$lrtsim" validate "$scenario" "${sets[@]}" >&2 || die "lrtsim validate rejected $scenario (exit $?); nothing submitted"
fi

# Slurm does not create the directory of --output files: a task whose log directory is
# missing fails at once.
[[ $dry_run == 1 ]] || mkdir -p -- "$parts" "$logs" "$(dirname -- "$out")"

# Partial files left from another run with a different N (or any other .lrtpart) would make
# the merge refuse the directory; files named like this run's shards are overwritten by it.
stray=()
shopt -s nullglob
for f in "$parts"/*.lrtpart; do
    b=${f##*/}
    if [[ $b =~ ^shard-([0-9]+)-of-([0-9]+)\.lrtpart$ ]] &&
        [[ ${BASH_REMATCH[2]} == "$shards" ]] && ((10#${BASH_REMATCH[1]} < shards)); then
        continue
    fi
    stray+=("$b")
done
shopt -u nullglob
if [[ ${#stray[@]} -gt 0 ]]; then
    die "$parts holds partial files of another run (${stray[*]}): use a fresh --parts directory or delete them"
fi

array=0-$((shards - 1))
[[ -z $max_running ]] || array+="%$max_running"

parse_id() {
    # sbatch --parsable prints "JOBID" or "JOBID;CLUSTER"
    local id=${1%%;*}
    [[ $id =~ ^[0-9]+$ ]] || return 1
    echo "$id"
}

shard_cmd=(sbatch --parsable "--array=$array" "--cpus-per-task=$cpus"
    "--job-name=$name" "--output=$logs/shard-%A_%a.out"
    "${sbatch_both[@]}" "${sbatch_shard[@]}"
    "$here/shard.sbatch" "$lrtsim" "$scenario" "$shards" "$parts" "${run_args[@]}")
merge_cmd() { # array id
    merge_cmd=(sbatch --parsable "--dependency=afterok:$1" --kill-on-invalid-dep=yes
        "--cpus-per-task=$merge_cpus" "--job-name=$name-merge" "--output=$logs/merge-%j.out"
        "${sbatch_both[@]}" "${sbatch_merge[@]}"
        "$here/merge.sbatch" "$lrtsim" "$out" "$parts" -- "${merge_args[@]}")
}
if [[ $dry_run == 1 ]]; then
    merge_cmd ARRAY_ID
    echo "$prog: dry run; would run:" >&2
    printf '%q ' "${shard_cmd[@]}" >&2
    echo >&2
    printf '%q ' "${merge_cmd[@]}" >&2
    echo >&2
    exit 0
fi

if ! reply=$("${shard_cmd[@]}") || ! array_id=$(parse_id "$reply"); then
    echo "$prog: error: submitting the shard array failed: ${reply:-}" >&2
    exit 1
fi
echo "$prog: shard array $array_id: $shards task(s) of $scenario -> $parts" >&2

merge_cmd "$array_id"
if ! reply=$("${merge_cmd[@]}") || ! merge_id=$(parse_id "$reply"); then
    echo "$prog: error: submitting the merge job failed (${reply:-}); cancelling array $array_id" >&2
    scancel "$array_id" || true
    exit 1
fi
echo "$prog: merge job $merge_id (after array $array_id succeeds) -> $out" >&2
echo "$prog: watch with: squeue -j $array_id,$merge_id; job output in $logs/" >&2
echo "$array_id $merge_id"
