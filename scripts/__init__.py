# SPDX-License-Identifier: MIT
"""A package only so that python3 -m scripts.demo finds tests/."""
