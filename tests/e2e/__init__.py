# SPDX-License-Identifier: MIT
"""End-to-end tests: the built binary on real folders."""
