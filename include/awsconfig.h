/* SPDX-License-Identifier: MIT */
#ifndef CFW_AWSCONFIG_H
#define CFW_AWSCONFIG_H

#include <stdbool.h>
#include <stddef.h>

struct cfw_err;

/* The AWS CLI's shared files, ~/.aws/credentials and ~/.aws/config, read
 * as botocore reads them: botocore.configloader.raw_config_parse() over
 * Python's configparser.RawConfigParser() with its defaults, and
 * build_profile_map() for the config file's profile names.  So, as there:
 *
 *   - The file is UTF-8 (Python decodes it before parsing; a file that is
 *     not UTF-8 is an error).  Lines end at "\n", "\r\n" or "\r".  A line
 *     has no length limit.  A NUL byte is a character like any other.
 *   - Blanks are Python's str.isspace(): ASCII blanks, \x1c-\x1f, and
 *     Unicode's spaces such as U+00A0 and U+3000.  A UTF-8 byte order
 *     mark is not one: at the start of a file it is an error, as in the
 *     AWS CLI.
 *   - '#' or ';' starts a comment only as a line's first non-blank.  A ';'
 *     or '#' after a value is part of the value.
 *   - "[name]" starts a section; the name runs to the last ']' on the line
 *     and is kept verbatim (case, inner blanks).  A section given twice is
 *     an error; so is a non-blank line before the first section.
 *     "[DEFAULT]" (that case) is no section: its keys are those of every
 *     section that does not set them itself.
 *   - "key = value" or "key: value" splits at the first '=' or ':'.  Keys
 *     are compared in lower case (Python's str.lower(), which for keys
 *     that can match an ASCII name means ASCII case and U+212A KELVIN
 *     SIGN); values are kept verbatim but for the blanks around them.  A
 *     key given twice in a section is an error.  Any other line is a
 *     syntax error.
 *   - A line indented deeper than the line that started the current key
 *     continues its value, after a "\n"; blank lines inside a value are
 *     kept, comment lines are skipped, and trailing empty lines dropped.
 *     A value that begins with an empty line is a sub-section such as
 *     "s3 =\n  max_concurrent_requests = 10", whose lines must each hold
 *     an '=' (checked for every value botocore would look at).
 *
 * Where botocore and this module part: a key with non-ASCII upper case
 * letters (other than U+212A) keeps them, where Python would lower them,
 * so two such keys that differ only in case are not reported as given
 * twice.  tests/unit/awsconfig_botocore.py checks the rest against
 * botocore itself. */

struct awsconfig; /* opaque: a parsed file */

/* Bytes borrowed from a struct awsconfig; they may hold NUL bytes, and
 * s[len] is not necessarily NUL. */
struct awsconfig_str {
  const char *s;
  size_t len;
};

struct awsconfig_value {
  struct awsconfig_str text; /* the value, lines joined with "\n" */
  bool sub;                  /* a sub-section: text begins with "\n" */
  unsigned line;             /* where its key stands */
};

/* Parses data[0..len) and sets *out (free it with awsconfig_destroy).
 * Returns 0; -EINVAL with err set to "NAME:LINE: why" (name is the file's
 * name, for that message; the message never quotes the file, which may
 * hold secrets); or -ENOMEM. */
int awsconfig_parse(struct awsconfig **out, const char *data, size_t len,
                    const char *name, struct cfw_err *err);

/* Wipes what c holds (values are secrets) and frees it; NULL is fine. */
void awsconfig_destroy(struct awsconfig *c);

/* The number of sections, [DEFAULT] not counted, and the name of
 * section i (0 to that number - 1), in the order of the file. */
size_t awsconfig_sections(const struct awsconfig *c);
struct awsconfig_str awsconfig_section_name(const struct awsconfig *c,
                                            size_t i);

/* The value of key (lower case ASCII) in section i, or in [DEFAULT] if i
 * does not set it: true with *out filled, or false if neither sets it.
 * O(1). */
bool awsconfig_get(const struct awsconfig *c, size_t i, const char *key,
                   struct awsconfig_value *out);

/* The k-th key of section i with its value, in botocore's order: the
 * section's own keys, then [DEFAULT]'s others.  False past the last.
 * O(number of keys). */
bool awsconfig_key(const struct awsconfig *c, size_t i, size_t k,
                   struct awsconfig_str *name, struct awsconfig_value *out);

/* Walks the "name = value" lines of a sub-section value: start with *pos
 * 0; returns 1 with the next pair (both trimmed, the name as written),
 * 0 after the last.  A name given twice is given twice; botocore keeps
 * the last. */
int awsconfig_sub_next(const struct awsconfig_value *v, size_t *pos,
                       struct awsconfig_str *name, struct awsconfig_str *value);

/* The two files name profiles differently: the credentials file by the
 * section's name ("[dev]"); the config file as "[profile dev]" (split as
 * a POSIX shell would, so "[profile \"my dev\"]" names "my dev", and
 * anything but exactly two words names none) or "[default]". */
enum awsconfig_file { AWSCONFIG_CREDENTIALS, AWSCONFIG_CONFIG };

/* The profile that section i names in a file of kind f: 1 with *name
 * (owned: free() it; NUL-terminated, *len bytes, which may hold NULs);
 * 0 if it names none; or -ENOMEM. */
int awsconfig_section_profile(const struct awsconfig *c, enum awsconfig_file f,
                              size_t i, char **name, size_t *len);

/* The section of profile name[0..len) in a file of kind f: 1 with *i
 * set; 0 if there is none; or -ENOMEM.  If several sections name it
 * ("[default]" and "[profile default]"), the last one counts, as in botocore;
 * their keys are not merged. */
int awsconfig_profile(const struct awsconfig *c, enum awsconfig_file f,
                      const char *name, size_t len, size_t *i);

#endif
