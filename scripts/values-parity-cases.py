#!/usr/bin/env python3
"""Writes the values files of the Helm parity suite (tests/it/values_parity.rs) to testdata/values-parity/cases/.

Each case is a values file given to `helm template` (Helm 4.1 and Helm 3.17) and to `opsta-lint lint --schema`
against the small chart in testdata/values-parity/chart/ (a typed values.schema.json). The test measures the real
Helms' verdicts in its own run; this script only writes the inputs. Run it again after editing the list:

    python3 scripts/values-parity-cases.py

Case names start with their category. The chart's schema types: name string (at most 8 characters), mode and
port integer, ratio number, enabled boolean, kind one of a/b/hello, tags a list of strings, nested a closed map
of x (integer) and label (string); every other key is open.
"""
import os
import shutil

CASES = []


def case(name, text):
    data = text if isinstance(text, bytes) else text.encode("utf-8")
    CASES.append((name, data))


# ---- empty, null and non-mapping top levels ----
for name, text in [
    ("empty", ""),
    ("newline", "\n"),
    ("blank-lines", "\n\n   \n"),
    ("comment", "# only a comment\n"),
    ("comments", "# one\n\n# two\n"),
    ("tilde", "~\n"),
    ("null", "null\n"),
    ("Null", "Null\n"),
    ("NULL", "NULL\n"),
    ("tagged-null", "!!null\n"),
    ("doc-start-only", "---\n"),
    ("doc-start-comment", "--- # nothing\n"),
    ("doc-end-only", "...\n"),
    ("start-end", "---\n...\n"),
    ("start-null", "--- ~\n"),
    ("flow-empty", "{}\n"),
    ("flow-empty-no-newline", "{}"),
    ("comment-no-newline", "# c"),
    ("list", "- a\n- b\n"),
    ("flow-list", "[]\n"),
    ("string", "hello\n"),
    ("quoted-empty", "''\n"),
    ("int", "5\n"),
    ("bool", "true\n"),
    ("block-scalar", "|\n  text\n"),
    ("tab-only", "\t\n"),
    ("crlf-empty", "\r\n\r\n"),
    ("bom-only", b"\xef\xbb\xbf"),
    ("bom-comment", b"\xef\xbb\xbf# c\n"),
]:
    case(f"empty-{name}", text)

# ---- several documents in one file ----
for name, text in [
    ("two-maps", "mode: 1\n---\nport: 2\n"),
    ("second-overrides", "mode: 1\n---\nmode: 2\n"),
    ("second-bad-type", "mode: 1\n---\nmode: x\n"),
    ("first-bad-type", "mode: x\n---\nmode: 1\n"),
    ("trailing-start", "mode: 1\n---\n"),
    ("leading-and-trailing", "---\nmode: 1\n---\n"),
    ("empty-middle", "mode: 1\n---\n---\nport: 3\n"),
    ("comment-doc", "mode: 1\n---\n# just a comment\n"),
    ("null-doc", "mode: 1\n---\n~\n"),
    ("second-list", "mode: 1\n---\n- a\n"),
    ("second-string", "mode: 1\n---\nhello\n"),
    ("first-list", "- a\n---\nmode: 1\n"),
    ("deep-merge", "nested:\n  x: 1\n---\nnested:\n  label: b\n"),
    ("deep-merge-bad", "nested:\n  x: 1\n---\nnested:\n  z: 1\n"),
    ("map-over-scalar", "nested: 5\n---\nnested:\n  x: 1\n"),
    ("scalar-over-map", "nested:\n  x: 1\n---\nnested: 5\n"),
    ("null-over-value", "mode: 1\n---\nmode: null\n"),
    ("null-over-value-bad", "mode: x\n---\nmode: null\n"),
    ("doc-end", "mode: 1\n...\n"),
    ("doc-end-then-text", "mode: 1\n...\nport: x\n"),
    ("doc-end-then-start", "mode: 1\n...\n---\nport: x\n"),
    ("doc-end-then-comment", "mode: 1\n...\n# done\n"),
    ("start-comment", "mode: 1\n--- # second\nport: x\n"),
    ("start-inline-map", "mode: 1\n--- {port: x}\n"),
    ("start-inline-scalar", "--- 5\n"),
    ("start-inline-first", "--- {mode: 1}\n"),
    ("start-block-scalar", "--- |\n  text\n"),
    ("four-dashes", "mode: 1\n----\nport: x\n"),
    ("indented-dashes", "mode: 1\n ---\n"),
    ("dashes-in-block-scalar", "name: |\n  a\n---\nmode: x\n"),
    ("dashes-in-quoted", "name: \"a\n---\nb\"\n"),
    ("anchor-across", "a: &x 1\n---\nmode: *x\n"),
    ("three-docs", "mode: 1\n---\nport: 2\n---\nratio: x\n"),
    ("second-duplicate", "mode: 1\n---\nmode: 2\nmode: x\n"),
    ("second-syntax-error", "mode: 1\n---\nport: [1\n"),
    ("first-syntax-error", "mode: [1\n---\nport: 1\n"),
    ("second-inf", "mode: 1\n---\nratio: .inf\n"),
    ("tags-list-merge", "tags: [a]\n---\ntags: [1]\n"),
    ("crlf", "mode: 1\r\n---\r\nport: x\r\n"),
    ("no-final-newline", "mode: 1\n---\nport: x"),
    ("dashes-no-newline", "mode: 1\n---"),
    ("directive-first", "%YAML 1.1\n---\nmode: 1\n"),
    ("directive-second", "mode: 1\n---\n%YAML 1.1\n---\nport: x\n"),
    ("directive-after-end", "mode: 1\n...\n%YAML 1.1\n---\nport: x\n"),
    ("second-tab", "mode: 1\n---\n\tport: x\n"),
]:
    case(f"multidoc-{name}", text)

# ---- duplicate keys ----
for name, text in [
    ("top", "mode: x\nmode: 1\n"),
    ("top-bad-last", "mode: 1\nmode: x\n"),
    ("nested", "nested:\n  x: a\n  x: 1\n"),
    ("nested-bad-last", "nested:\n  x: 1\n  x: a\n"),
    ("map-then-scalar", "nested:\n  x: 1\nnested: 5\n"),
    ("scalar-then-map", "nested: 5\nnested:\n  x: 1\n"),
    ("maps-do-not-merge", "nested:\n  z: 1\nnested:\n  x: 1\n"),
    ("flow", "{mode: x, mode: 1}\n"),
    ("flow-nested", "nested: {x: 1, x: b}\n"),
    ("quoted-and-plain", "mode: x\n\"mode\": 1\n"),
    ("single-and-double", "'mode': x\n\"mode\": 1\n"),
    ("bool-forms", "yes: 1\ntrue: x\n"),
    ("three-times", "mode: a\nmode: b\nmode: 3\n"),
    ("in-list-item", "list:\n  - mode: x\n    mode: 1\n"),
    ("null-then-value", "mode: ~\nmode: 1\n"),
    ("value-then-null", "mode: x\nmode: ~\n"),
    ("long-key", "? mode\n: x\n? mode\n: 1\n"),
    ("int-keys", "1: a\n1: b\n"),
    ("tags", "tags: [1]\ntags: [a]\n"),
    ("enum", "kind: c\nkind: a\n"),
    ("enum-bad-last", "kind: a\nkind: c\n"),
]:
    case(f"duplicate-{name}", text)

# ---- integers and floats as Go's YAML reads them (mode is an integer, ratio a number, name a string) ----
for name, text in [
    ("octal-0o", "0o755"),
    ("octal-0O", "0O755"),
    ("octal-classic", "0755"),
    ("octal-neg", "-0755"),
    ("octal-0o-neg", "-0o17"),
    ("octal-0o-plus", "+0o17"),
    ("octal-bad-digit", "0o8"),
    ("octal-classic-8", "0789"),
    ("octal-08", "08"),
    ("octal-0o-underscore", "0o_17"),
    ("hex", "0x1F"),
    ("hex-upper", "0X1F"),
    ("hex-neg", "-0x1F"),
    ("hex-plus", "+0x1F"),
    ("hex-underscore", "0x_1F"),
    ("hex-empty", "0x"),
    ("hex-bad", "0xG"),
    ("bin", "0b101"),
    ("bin-upper", "0B101"),
    ("bin-neg", "-0b101"),
    ("bin-bad", "0b2"),
    ("plus-underscore", "+_1"),
    ("minus-underscore", "-_1"),
    ("underscore-lead", "_1"),
    ("underscore-trail", "1_"),
    ("underscores", "1__000"),
    ("zero", "0"),
    ("zero-zero", "00"),
    ("plus-zero", "+0"),
    ("minus-zero", "-0"),
    ("plus", "+"),
    ("minus", "-"),
    ("int64-max", "9223372036854775807"),
    ("uint64", "9223372036854775808"),
    ("uint64-max", "18446744073709551615"),
    ("above-uint64", "18446744073709551616"),
    ("int64-min", "-9223372036854775808"),
    ("below-int64", "-9223372036854775809"),
    ("exp", "1e3"),
    ("exp-upper", "1E3"),
    ("exp-frac", "1.5e3"),
    ("exp-neg", "1e-3"),
    ("exp-huge", "1e999"),
    ("exp-huge-neg", "-1e999"),
    ("exp-no-digits", "1e"),
    ("dot-five", ".5"),
    ("plus-dot-five", "+.5"),
    ("minus-dot-five", "-.5"),
    ("dot-exp", ".5e3"),
    ("dot-e", ".e3"),
    ("dot-underscore", ".1_0"),
    ("trailing-dot", "1."),
    ("one-point-zero", "1.0"),
    ("float-underscore", "1_000.5"),
    ("hex-float", "0x1p-2"),
    ("inf-word", "Infinity"),
    ("base60", "1:30"),
    ("date", "2001-12-14"),
    ("datetime", "2001-12-14t21:59:43.10-05:00"),
]:
    case(f"number-mode-{name}", f"mode: {text}\n")
for name, text in [
    ("octal-0o", "0o17"),
    ("exp", "1e3"),
    ("exp-huge", "1e999"),
    ("dot-five", ".5"),
    ("uint64", "18446744073709551615"),
    ("hex", "0x10"),
    ("date", "2001-12-14"),
]:
    case(f"number-ratio-{name}", f"ratio: {text}\n")
for name, text in [
    ("octal-0o", "0o17"),
    ("exp-huge", "1e999"),
    ("date", "2001-1-2"),
    ("date-bad-day", "2001-02-30"),
    ("datetime-space", "2001-12-14 21:59:43"),
]:
    case(f"number-name-{name}", f"name: {text}\n")
for name, text in [
    ("port-0o", "port: 0o177777\n"),
    ("port-hex", "port: 0xFFFF\n"),
    ("port-hex-over", "port: 0x10000\n"),
    ("port-bin", "port: 0b1\n"),
    ("port-octal-zero", "port: 0o0\n"),
    ("tags-octal", "tags: [0o1]\n"),
    ("enabled-yes", "enabled: yes\n"),
    ("enabled-on", "enabled: On\n"),
    ("enabled-y", "enabled: y\n"),
    ("enabled-Y", "enabled: Y\n"),
    ("enabled-tRUE", "enabled: tRUE\n"),
    ("enabled-n", "enabled: n\n"),
    ("enabled-off", "enabled: OFF\n"),
]:
    case(f"number-{name}", text)

# ---- explicit tags ----
for name, text in [
    ("int-0o", "mode: !!int \"0o17\"\n"),
    ("int-hex", "mode: !!int '0x1F'\n"),
    ("int-quoted", "mode: !!int \"12\"\n"),
    ("int-float", "mode: !!int 1.5\n"),
    ("int-word", "mode: !!int nope\n"),
    ("int-uint64", "mode: !!int 18446744073709551615\n"),
    ("float-int", "ratio: !!float 3\n"),
    ("float-quoted", "ratio: !!float \"1e3\"\n"),
    ("float-uint64", "ratio: !!float 18446744073709551615\n"),
    ("float-word", "ratio: !!float x\n"),
    ("bool-yes", "enabled: !!bool \"yes\"\n"),
    ("bool-one", "enabled: !!bool 1\n"),
    ("str-int", "mode: !!str 5\n"),
    ("str-inf", "name: !!str .inf\n"),
    ("null-5", "mode: !!null 5\n"),
    ("null-tilde", "mode: !!null ~\n"),
    ("null-empty", "mode: !!null \"\"\n"),
    ("null-word", "name: !!null null\n"),
    ("local", "mode: !foo 5\n"),
    ("local-string", "name: !foo bar\n"),
    ("non-specific", "mode: ! 5\n"),
    ("non-specific-name", "name: ! x\n"),
    ("local-map", "nested: !foo {x: 1}\n"),
    ("local-seq", "tags: !foo [a]\n"),
    ("verbatim-int", "mode: !<tag:yaml.org,2002:int> \"5\"\n"),
    ("verbatim-local", "mode: !<!foo> 5\n"),
    ("binary", "kind: !!binary aGVsbG8=\n"),
    ("binary-long", "name: !!binary YWJjZGVmZ2hpams=\n"),
    ("binary-short", "name: !!binary YWJj\n"),
    ("binary-bad", "name: !!binary not*base64\n"),
    ("binary-unpadded", "name: !!binary YWJj ZA\n"),
    ("binary-in-int", "mode: !!binary MTI=\n"),
    ("binary-multiline", "kind: !!binary |\n  aGVs\n  bG8=\n"),
    ("timestamp", "name: !!timestamp 2001-12-14\n"),
    ("timestamp-bad", "name: !!timestamp nope\n"),
    ("map-on-scalar", "name: !!map x\n"),
    ("seq-on-scalar", "name: !!seq x\n"),
    ("str-on-map", "nested: !!str {x: 1}\n"),
    ("set", "nested: !!set {x, y}\n"),
    ("omap", "tags: !!omap [a: 1]\n"),
    ("tag-directive", "%TAG ! tag:yaml.org,2002:\n---\nmode: !int \"5\"\n"),
    ("tag-directive-custom", "%TAG !e! tag:example.com,2000:\n---\nmode: !e!foo 5\n"),
    ("undefined-handle", "mode: !e!foo 5\n"),
    ("merge-tag-string", "name: !!merge x\n"),
]:
    case(f"tag-{name}", text)

# ---- .inf and .nan ----
for name, text in [
    ("inf-string-field", "name: .inf\n"),
    ("inf-open-key", "other: .inf\n"),
    ("inf-number", "ratio: .inf\n"),
    ("inf-upper", "ratio: .Inf\n"),
    ("inf-neg", "ratio: -.inf\n"),
    ("inf-plus", "ratio: +.INF\n"),
    ("nan", "ratio: .nan\n"),
    ("nan-mixed", "ratio: .NaN\n"),
    ("nan-in-list", "tags: [a, .nan]\n"),
    ("inf-deep", "a:\n  b:\n    c: [.inf]\n"),
    ("inf-quoted", "name: \".inf\"\n"),
    ("inf-key", ".inf: 1\n"),
    ("nan-key", ".nan: 1\n"),
    ("inf-tagged-float", "ratio: !!float .inf\n"),
    ("inf-tagged-str", "ratio: !!str .inf\n"),
    ("inf-wrong-case", "name: .iNf\n"),
    ("inf-second-doc", "mode: 1\n---\nx: .inf\n"),
]:
    case(f"inf-{name}", text)

# ---- keys Helm cannot turn into JSON names ----
for name, text in [
    ("tilde", "~: x\n"),
    ("null", "null: x\n"),
    ("empty", ": x\n"),
    ("explicit-empty", "? \n: x\n"),
    ("nested-null", "nested:\n  ~: 1\n"),
    ("uint64", "18446744073709551615: x\n"),
    ("int64-max", "9223372036854775807: x\n"),
    ("int", "1: x\n"),
    ("negative", "-1: x\n"),
    ("float", "1.5: x\n"),
    ("float-exp", "1e3: x\n"),
    ("bool", "true: x\n"),
    ("yes", "yes: x\n"),
    ("hex", "0x10: x\n"),
    ("date", "2001-01-01: x\n"),
    ("flow-seq", "[1]: x\n"),
    ("flow-map", "{a: 1}: x\n"),
    ("block-scalar", "? |\n  block\n: x\n"),
    ("empty-string", "\"\": x\n"),
    ("null-in-flow", "{~: 1}\n"),
    ("closed-map-int", "nested:\n  1: 1\n"),
    ("closed-map-bool", "nested:\n  y: 1\n"),
    ("closed-map-quoted-y", "nested:\n  \"y\": b\n"),
    ("float-key-closed", "nested:\n  1.0: 1\n"),
]:
    case(f"key-{name}", text)

# ---- merge keys ----
for name, text in [
    ("basic", "base: &b {mode: 1}\n<<: *b\n"),
    ("written-after-wins", "base: &b {mode: x}\n<<: *b\nmode: 1\n"),
    ("written-before-loses", "base: &b {mode: x}\nmode: 1\n<<: *b\n"),
    ("written-before-loses-good", "base: &b {mode: 1}\nmode: x\n<<: *b\n"),
    ("two-merges-in-turn", "a: &a {mode: x}\nb: &b {mode: 1}\n<<: *a\n<<: *b\n"),
    ("two-merges-in-turn-bad", "a: &a {mode: 1}\nb: &b {mode: x}\n<<: *a\n<<: *b\n"),
    ("list-first-wins", "a: &a {mode: 1}\nb: &b {mode: x}\n<<: [*a, *b]\n"),
    ("list-first-wins-bad", "a: &a {mode: x}\nb: &b {mode: 1}\n<<: [*a, *b]\n"),
    ("inline-map", "<<: {mode: x}\n"),
    ("nested", "base: &b {x: 1}\nnested:\n  <<: *b\n  label: s\n"),
    ("nested-closed", "base: &b {z: 1}\nnested:\n  <<: *b\n"),
    ("merge-scalar", "a: &a 5\n<<: *a\n"),
    ("merge-list-of-scalars", "<<: [1, 2]\n"),
    ("merge-null", "<<: ~\n"),
    ("quoted", "\"<<\": {mode: x}\n"),
    ("single-quoted", "'<<': {mode: x}\n"),
    ("quoted-open", "\"<<\": 5\n"),
    ("tagged-merge", "!!merge <<: {mode: x}\n"),
    ("tagged-str", "!!str <<: {mode: x}\n"),
    ("shallow", "base: &b {nested: {x: 1}}\n<<: *b\nnested: {label: s}\n"),
    ("shallow-bad", "base: &b {nested: {x: a}}\nnested: {label: s}\n<<: *b\n"),
    ("chain", "a: &a {mode: x}\nb: &b\n  <<: *a\n  port: 1\n<<: *b\n"),
    ("unknown-anchor", "<<: *nope\n"),
    ("self", "a: &a\n  b: 1\n  <<: *a\n"),
    ("in-list-item", "base: &b {mode: x}\nlist:\n  - <<: *b\n    mode: 1\n"),
    ("duplicate-merge-key-list", "a: &a {mode: 1}\n<<: [*a]\n<<: {mode: x}\n"),
    ("flow-merge", "{<<: {mode: x}, mode: 1}\n"),
]:
    case(f"merge-{name}", text)

# ---- anchors and aliases ----
for name, text in [
    ("dot", "a: &a.b 1\nmode: *a.b\n"),
    ("colon", "a: &a:b 1\nmode: *a:b\n"),
    ("redefined", "a: &x 1\nb: &x y\nmode: *x\n"),
    ("unknown", "mode: *nope\n"),
    ("forward", "mode: *x\na: &x 1\n"),
    ("on-key", "&k mode: 1\n*k : x\n"),
    ("alias-key", "a: &k mode\n*k : x\n"),
    ("seq", "a: &s [x]\ntags: *s\n"),
    ("seq-bad", "a: &s [1]\ntags: *s\n"),
    ("unicode", "a: &ä 1\nmode: *ä\n"),
]:
    case(f"anchor-{name}", text)

# ---- escapes in double quotes ----
for name, text in [
    ("slash", "name: \"a\\/b\"\n"),
    ("tab", "name: \"a\\tb\"\n"),
    ("x41", "name: \"\\x41\"\n"),
    ("u", "name: \"\\u00e9\"\n"),
    ("U", "name: \"\\U0001F600\"\n"),
    ("surrogate-pair", "name: \"\\ud83d\\ude00\"\n"),
    ("lone-surrogate", "name: \"\\ud83d\"\n"),
    ("N", "name: \"\\N\"\n"),
    ("underscore", "name: \"\\_\"\n"),
    ("L", "name: \"\\L\"\n"),
    ("P", "name: \"\\P\"\n"),
    ("e", "name: \"\\e\"\n"),
    ("zero", "name: \"\\0\"\n"),
    ("space", "name: \"\\ \"\n"),
    ("bad-q", "name: \"\\q\"\n"),
    ("bad-x", "name: \"\\xZZ\"\n"),
    ("line-continuation", "name: \"ab\\\n  cd\"\n"),
    ("single-quote-doubled", "name: 'it''s'\n"),
    ("long-after-escape", "name: \"\\x41BCDEFGHI\"\n"),
    ("kind-escape", "kind: \"h\\x65llo\"\n"),
]:
    case(f"escape-{name}", text)

# ---- tabs, line breaks, odd layout ----
for name, text in [
    ("tab-indent", "nested:\n\tx: 1\n"),
    ("tab-after-colon", "mode:\t1\n"),
    ("tab-before-comment", "mode: 1\t# c\n"),
    ("tab-in-block-scalar", "name: |\n\tx\n"),
    ("tab-inside-block-scalar", "name: |\n  \tx\n"),
    ("tab-in-flow", "tags: [\ta]\n"),
    ("tab-after-dash", "tags:\n-\ta\n"),
    ("tab-trailing", "mode: 1\t\n"),
    ("tab-key-separator", "mode\t: 1\n"),
    ("nel", "mode: 1\u0085port: 2\n"),
    ("nel-in-value", "name: a\u0085b\n"),
    ("ls", "mode: 1\u2028port: 2\n"),
    ("ps", "mode: 1\u2029port: 2\n"),
    ("cr-only", "mode: 1\rport: 2\r"),
    ("crlf", "mode: 1\r\nport: 2\r\n"),
    ("continuation-col0", "name: a\nb\n"),
    ("continuation-indented", "name: a\n  b\n"),
    ("continuation-col0-flow", "tags: [a,\nb]\n"),
    ("continuation-col0-quoted", "name: \"a\nb\"\n"),
    ("continuation-col0-single", "name: 'a\nb'\n"),
    ("continuation-col0-nested", "nested:\n  label: a\nb\n"),
    ("block-scalar-keep", "name: |+\n  a\n\n"),
    ("block-scalar-strip", "name: |-\n  abcdefgh\n"),
    ("block-scalar-clip-long", "name: |\n  abcdefgh\n"),
    ("folded", "name: >\n  a\n  b\n"),
    ("block-indent-indicator", "name: |2\n   x\n"),
    ("block-less-indented", "nested:\n  label: |\n    a\n   b\n"),
    ("flow-trailing-comma", "tags: [a, b,]\n"),
    ("flow-map-trailing-comma", "nested: {x: 1,}\n"),
    ("flow-implicit-pair", "tags: [a: b]\n"),
    ("flow-multiline-key", "nested: {x\n  : 1}\n"),
    ("plain-colon", "name: a:b\n"),
    ("plain-hash", "name: a#b\n"),
    ("plain-hash-space", "name: a #b\n"),
    ("key-no-space", "mode:1\n"),
    ("indicator-start", "name: @x\n"),
    ("backtick-start", "name: `x\n"),
    ("percent-start", "name: %x\n"),
    ("question-plain", "name: ?x\n"),
    ("dash-plain", "name: -x\n"),
    ("long-key-1025", "k" * 1025 + ": 1\n"),
    ("long-implicit-key-1030", "\"" + "k" * 1030 + "\": 1\n"),
    ("zero-indent-seq", "tags:\n- a\n- b\n"),
    ("seq-bad-item", "tags:\n- 1\n"),
    ("mapping-in-seq-compact", "list:\n- a: 1\n  b: 2\n"),
    ("control-char", "name: a\u0007b\n"),
    ("del-char", "name: a\u007fb\n"),
    ("c1-char", "name: a\u0086b\n"),
    ("nbsp", "name: a\u00a0b\n"),
    ("private-use", "name: \ue000\n"),
    ("noncharacter", "name: \ufffe\n"),
]:
    case(f"layout-{name}", text)

# ---- encodings and byte order marks ----
case("encoding-bom", b"\xef\xbb\xbfmode: 1\n")
case("encoding-bom-bad", b"\xef\xbb\xbfmode: x\n")
case("encoding-mid-bom", b"mode: 1\n\xef\xbb\xbfport: 2\n")
case("encoding-mid-bom-value", b"name: a\xef\xbb\xbfb\n")
case("encoding-bom-after-start", b"---\n\xef\xbb\xbfmode: 1\n")
case("encoding-utf16le", b"\xff\xfe" + "mode: 1\n".encode("utf-16-le"))
case("encoding-utf16le-bad", b"\xff\xfe" + "mode: x\n".encode("utf-16-le"))
case("encoding-utf16be", b"\xfe\xff" + "mode: 1\n".encode("utf-16-be"))
case("encoding-utf16le-nobom", "mode: 1\n".encode("utf-16-le"))
case("encoding-latin1", b"name: caf\xe9\n")
case("encoding-nul", b"name: a\x00b\n")
case("encoding-utf8-4byte", "name: \U0001F600\n")
case("encoding-overlong", b"name: \xc0\xaf\n")

# ---- directives ----
for name, text in [
    ("yaml-1.1", "%YAML 1.1\n---\nmode: 1\n"),
    ("yaml-1.2", "%YAML 1.2\n---\nmode: 1\n"),
    ("yaml-1.1-bad", "%YAML 1.1\n---\nmode: x\n"),
    ("yaml-2.0", "%YAML 2.0\n---\nmode: 1\n"),
    ("yaml-1.3", "%YAML 1.3\n---\nmode: 1\n"),
    ("yaml-twice", "%YAML 1.1\n%YAML 1.1\n---\nmode: 1\n"),
    ("unknown", "%FOO bar\n---\nmode: 1\n"),
    ("no-start", "%YAML 1.1\nmode: 1\n"),
    ("tag-and-yaml", "%YAML 1.1\n%TAG !e! tag:e.com,2000:\n---\nmode: 1\n"),
    ("comment-before", "# c\n%YAML 1.1\n---\nmode: 1\n"),
]:
    case(f"directive-{name}", text)

# ---- deep nesting (Helm's reader stops at 10,000 levels) ----
for depth in (100, 300, 2000, 9999):
    case(f"deep-flow-{depth}", "v: " + "[" * depth + "]" * depth + "\n")
for depth in (10000, 10001, 20000):
    case(f"deep-flow-{depth}", "v: " + "[" * depth + "]" * depth + "\n")
case("deep-block-300", "".join(" " * i + f"k{i}:\n" for i in range(300)))
# 300 block mappings holding flow lists: 10,000 levels in all, then one more.
for flow in (9700, 9701):
    block = "".join(" " * i + f"k{i}:\n" for i in range(299))
    case(f"deep-mixed-{300 + flow}", block + " " * 299 + "v: " + "[" * flow + "]" * flow + "\n")
case("deep-flow-map-300", "v: " + "{a: " * 300 + "1" + "}" * 300 + "\n")
case("deep-block-seq-300", "v:\n" + "".join(" " * (2 * i) + "-\n" for i in range(1, 300)) + " " * 600 + "- x\n")
case("deep-nested-bad", "nested: " + "{x: " * 3 + "1" + "}" * 3 + "\n")

# ---- plain good and bad files (the tidy cases) ----
for name, text in [
    ("all-good", "name: abc\nmode: 1\nport: 80\nratio: 0.5\nenabled: true\nkind: a\ntags: [x]\nnested: {x: 1, label: s}\n"),
    ("name-too-long", "name: abcdefghi\n"),
    ("port-zero", "port: 0\n"),
    ("kind-bad", "kind: c\n"),
    ("nested-unknown", "nested: {z: 1}\n"),
    ("tags-not-list", "tags: a\n"),
    ("enabled-string", "enabled: \"true\"\n"),
    ("ratio-string", "ratio: \"0.5\"\n"),
    ("mode-float", "mode: 1.5\n"),
    ("mode-float-integral", "mode: 2.0\n"),
    ("mode-null", "mode: null\n"),
    ("nested-null", "nested: ~\n"),
    ("syntax-error", "mode: [1\n"),
    ("unclosed-quote", "name: \"abc\n"),
    ("bad-indent", "a:\n  b: 1\n c: 2\n"),
]:
    case(f"tidy-{name}", text)


def main():
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "testdata", "values-parity", "cases")
    shutil.rmtree(root, ignore_errors=True)
    os.makedirs(root)
    names = set()
    for name, data in CASES:
        assert name not in names, name
        names.add(name)
        with open(os.path.join(root, f"{name}.yaml"), "wb") as f:
            f.write(data)
    print(f"{len(CASES)} cases in {os.path.relpath(root)}")


if __name__ == "__main__":
    main()
