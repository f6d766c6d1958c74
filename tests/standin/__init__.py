# SPDX-License-Identifier: MIT
"""The CloudFront and S3 stand-in (README.md) and its self-tests."""
