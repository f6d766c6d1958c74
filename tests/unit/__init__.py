# SPDX-License-Identifier: MIT
"""The unit tests' Python helpers (the C tests are in test_*.c)."""
