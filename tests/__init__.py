# SPDX-License-Identifier: MIT
"""cfwatch's tests as one package: run each from the source root with
`python3 -m` (tests/CMakeLists.txt, scripts/test)."""
