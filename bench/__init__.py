# SPDX-License-Identifier: MIT
"""The benchmark: python3 -m bench.run (README.md)."""
