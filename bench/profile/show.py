"""Print a cProfile output file: python3 bench/profile/show.py FILE [cumulative|tottime|ncalls] [N]."""

import pstats
import sys

if __name__ == "__main__":
    path = sys.argv[1]
    order = sys.argv[2] if len(sys.argv) > 2 else "cumulative"
    limit = int(sys.argv[3]) if len(sys.argv) > 3 else 40
    pstats.Stats(path).strip_dirs().sort_stats(order).print_stats(limit)
