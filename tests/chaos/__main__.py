# SPDX-License-Identifier: MIT
"""python3 -m tests.chaos: see the package's docstring."""
import argparse
import sys

from tests import chaos
from tests.chaos.outcome import print_table
from tests.chaos.run import FAULT_RATE, KILL_RATE, TWO_DISTS, run_seed
from tests.e2e import cfw
from tests.standin.standin import StandIn


def seed_list(args):
    if args.seeds:
        a, _, b = args.seeds.partition("-")
        return list(range(int(a), int(b or a) + 1))
    return [args.seed]


def main(argv=None):
    p = argparse.ArgumentParser(prog="python3 -m tests.chaos",
                                description=chaos.__doc__.split("\n\n")[0])
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--seeds", help="a range A-B, one run per seed")
    p.add_argument("--rounds", type=int, default=60)
    p.add_argument("--binary", default=cfw.BIN)
    p.add_argument("--fault-rate", type=float, default=FAULT_RATE)
    p.add_argument("--kill-rate", type=float, default=KILL_RATE)
    p.add_argument("--origin", action="store_true",
                   help="deploy to an S3 origin on the stand-in too "
                   "(tests/chaos/origin.py)")
    p.add_argument("--two-dists", action="store_true",
                   help="a site of two distributions: every batch goes to "
                   "each, and each is checked on its own")
    p.add_argument("--cache-tags", action="store_true",
                   help="--origin with cache_tag_header, the distribution "
                   "storing the tags: a '#tag' item must cover only what "
                   "every copy the edges may hold carries")
    p.add_argument("--s3-state", action="store_true",
                   help="the state in S3 (state_dir = s3://...), with S3 "
                   "faults, a conflicting writer's 412 and lost caches")
    p.add_argument("--full-disk", action="store_true",
                   help="the state dir on a 1 MiB tmpfs that a filler "
                   "fills and frees now and then (root: it mounts)")
    p.add_argument("--pass-files", type=int, default=None,
                   help="bound each pass to this many files taken in, so "
                   "that a change goes in passes that follow each other")
    p.add_argument("--excludes", action="store_true",
                   help="the config's exclude of docs/ added and lifted "
                   "between daemons, and SIGHUP reloads mid-pass: a "
                   "daemon with it never sends a file it covers "
                   "(tests/chaos/excludes.py)")
    p.add_argument("--remap", action="store_true",
                   help="the config's pretty_urls turned on and off "
                   "between daemons, and SIGHUP reloads mid-pass: the old "
                   "URLs are flushed before the new mapping is recorded "
                   "(tests/chaos/remap.py)")
    p.add_argument("--strict", action="store_true",
                   help="fail on a stale risk too (see Checker.note_exempt)")
    p.add_argument("--keep", action="store_true",
                   help="keep the work dir even when the run passes")
    p.add_argument("-v", "--verbose", action="store_true")
    args = p.parse_args(argv)
    if args.excludes and args.remap:
        p.error("--excludes and --remap each own the config file")
    failed = 0
    outs = []
    with StandIn(config={"completion_delay": 0}) as cf:
        for seed in seed_list(args):
            out = run_seed(seed, args.rounds, args.binary, cf,
                           verbose=args.verbose, keep=args.keep,
                           fault_rate=args.fault_rate,
                           kill_rate=args.kill_rate, strict=args.strict,
                           s3=args.origin, tags=args.cache_tags,
                           shared=args.s3_state,
                           full_disk=args.full_disk,
                           pass_files=args.pass_files,
                           excludes=args.excludes, remap=args.remap,
                           dists=TWO_DISTS if args.two_dists else None)
            outs.append(out)
            print(("PASS " if not out.failures else "FAIL ") + out.summary(),
                  flush=True)
            if args.verbose:
                print("  faults: %s" % out.figures.get("fault_kinds"))
                for note in out.notes:
                    print("  note: " + note)
            if out.failures:
                failed += 1
                print(out.message(), flush=True)
            elif args.keep:
                print("  kept " + out.workdir)
    if len(outs) > 1:
        print_table(outs)
    print("%d of %d seeds failed" % (failed, len(outs)))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
