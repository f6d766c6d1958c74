# SPDX-License-Identifier: MIT
"""What kind of invalidation item a Paths/Items/Path is, and the rule for
cache tags (Developer Guide, "Invalidating content by cache tags" and
"What you need to know when invalidating tags",
docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/
invalidation-specifying-tags.html):

- an item that starts with '#' names a tag, not a path;
- a tag holds only ASCII 33-126, no ',', at most 256 characters (the
  '#' not counted), and takes no '*' wildcard;
- tags are case-insensitive;
- each tag item counts as one invalidation path against the in-progress
  limits ("the same concurrent invalidation limits as path items"; the
  stand-in counts it with the file paths, since it is no wildcard) and
  for billing, like a wildcard counts as one path ("Pay for file
  invalidation", PayingForInvalidation.html).
"""

MAX_TAG_LEN = 256


def is_tag(item):
    return item.startswith("#")


def kind(item):
    """"tag", "wildcard" or "file": how the item counts."""
    if is_tag(item):
        return "tag"
    return "wildcard" if item.endswith("*") else "file"


def tag_problem(item):
    """Why CloudFront would refuse this tag item, or None."""
    tag = item[1:]
    if not tag:
        return "tag item %r names no tag" % item
    if len(tag) > MAX_TAG_LEN:
        return "tag of %d characters is longer than %d" % (len(tag), MAX_TAG_LEN)
    for ch in tag:
        if ord(ch) < 33 or ord(ch) > 126:
            return "tag %r holds %r, outside ASCII 33-126" % (item, ch)
        if ch == ",":
            return "tag %r holds a ','" % item
        if ch == "*":
            return "tag %r holds '*': tags take no wildcard" % item
    return None
