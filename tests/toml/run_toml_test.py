#!/usr/bin/python3
"""Run the toml-test corpus (TOML 1.0.0 subset) against a decoder program.

usage: run_toml_test.py DECODER CORPUS_DIR

CORPUS_DIR is toml-test's tests/ directory; its files-toml-1.0.0 lists the
cases that apply to TOML 1.0.0. Every valid/X.toml must decode (exit 0) to
JSON equal in meaning to valid/X.json; every invalid/X.toml must be
rejected (non-zero exit, no crash). Exits 1 listing the failures.
"""
import json
import math
import os
import re
import subprocess
import sys

TIMEOUT = 10


def sanitizer_env():
    """Make a sanitizer build abort on any finding (leaks included), so a
    memory error can never pass for a clean rejection (ASan exits 1 by default)."""
    env = dict(os.environ)
    for var, extra in (('ASAN_OPTIONS', 'abort_on_error=1:detect_leaks=1'),
                       ('UBSAN_OPTIONS', 'halt_on_error=1:abort_on_error=1:print_stacktrace=1')):
        env[var] = ':'.join(x for x in (env.get(var, ''), extra) if x)
    return env


ENV = sanitizer_env()


def run(decoder, path):
    with open(path, 'rb') as f:
        return subprocess.run([decoder], stdin=f, capture_output=True, timeout=TIMEOUT, env=ENV)


def sanitizer_report(r):
    err = r.stderr.decode(errors='replace')
    return 'Sanitizer' in err or 'runtime error:' in err


_DT = re.compile(r'^(\d{4}-\d{2}-\d{2})?[Tt ]?(\d{2}:\d{2}:\d{2})?(\.\d+)?([Zz]|[+-]\d{2}:\d{2})?$')


def norm_datetime(text):
    """Canonical form: 'T' separator, no trailing fraction zeros, Z for +00:00."""
    m = _DT.match(text)
    if not m:
        return text
    date, time, frac, off = m.groups()
    frac = (frac or '').rstrip('0')
    if frac == '.':
        frac = ''
    if off and off.upper() in ('Z', '+00:00', '-00:00'):
        off = 'Z'
    parts = [date or '', 'T' if date and time else '', time or '', frac, off or '']
    return ''.join(parts)


def norm_float(text):
    text = text.replace('_', '')
    if text.lstrip('+-') == 'nan':
        return 'nan'
    return float(text)


def scalar_equal(want, got):
    wt, gt = want.get('type'), got.get('type')
    if wt != gt:
        return False, f'type {gt!r}, want {wt!r}'
    wv, gv = want.get('value'), got.get('value')
    if wt == 'float':
        a, b = norm_float(wv), norm_float(gv)
        ok = (a == b == 'nan') or (a != 'nan' and b != 'nan' and
                                   (a == b or math.isclose(a, b, rel_tol=1e-15)))
    elif wt == 'integer':
        ok = int(wv) == int(gv)
    elif wt in ('datetime', 'datetime-local', 'date-local', 'time-local'):
        ok = norm_datetime(wv) == norm_datetime(gv)
    else:
        ok = wv == gv
    return ok, '' if ok else f'value {gv!r}, want {wv!r}'


def is_scalar(x):
    return isinstance(x, dict) and set(x) == {'type', 'value'} and isinstance(x['type'], str)


def compare(want, got, path='$'):
    """None when equal, otherwise a description of the first difference."""
    if is_scalar(want):
        if not is_scalar(got):
            return f'{path}: got {json.dumps(got)[:80]}, want a {want["type"]}'
        ok, why = scalar_equal(want, got)
        return None if ok else f'{path}: {why}'
    if isinstance(want, dict):
        if not isinstance(got, dict) or is_scalar(got):
            return f'{path}: got {json.dumps(got)[:80]}, want a table'
        if set(want) != set(got):
            return f'{path}: keys {sorted(got)}, want {sorted(want)}'
        for k in want:
            d = compare(want[k], got[k], f'{path}.{k}')
            if d:
                return d
        return None
    if isinstance(want, list):
        if not isinstance(got, list):
            return f'{path}: got {json.dumps(got)[:80]}, want an array'
        if len(want) != len(got):
            return f'{path}: {len(got)} elements, want {len(want)}'
        for i, (w, g) in enumerate(zip(want, got)):
            d = compare(w, g, f'{path}[{i}]')
            if d:
                return d
        return None
    return f'{path}: unexpected expected-value {want!r}'


def check_valid(decoder, corpus, name):
    toml_path = os.path.join(corpus, name)
    with open(toml_path[:-len('.toml')] + '.json', encoding='utf-8') as f:
        want = json.load(f)
    r = run(decoder, toml_path)
    if r.returncode < 0 or sanitizer_report(r):
        return f'decoder crashed or sanitizer fired: {r.stderr.decode(errors="replace")[-800:]}'
    if r.returncode != 0:
        return f'rejected (exit {r.returncode}): {r.stderr.decode(errors="replace").strip()}'
    try:
        got = json.loads(r.stdout.decode('utf-8'))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        return f'decoder printed invalid JSON: {e}'
    return compare(want, got)


def check_invalid(decoder, corpus, name):
    r = run(decoder, os.path.join(corpus, name))
    if r.returncode == 0:
        return 'accepted, but the document is invalid'
    if r.returncode < 0 or sanitizer_report(r):
        return f'decoder crashed or sanitizer fired: {r.stderr.decode(errors="replace")[-800:]}'
    if r.returncode != 1:
        return f'exit {r.returncode}, want 1: {r.stderr.decode(errors="replace").strip()}'
    if not r.stderr.strip():
        return 'rejected without an error message'
    return None


def main(argv):
    if len(argv) != 3:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    decoder, corpus = argv[1], argv[2]
    listing = os.path.join(corpus, 'files-toml-1.0.0')
    if not os.path.isfile(listing):
        print(f'toml-test corpus not found: {listing} is missing; '
              'the corpus belongs in shared/toml-test/tests next to the source tree',
              file=sys.stderr)
        return 1
    with open(listing, encoding='utf-8') as f:
        names = [line.strip() for line in f if line.strip()]
    valid = [n for n in names if n.startswith('valid/') and n.endswith('.toml')]
    invalid = [n for n in names if n.startswith('invalid/') and n.endswith('.toml')]
    if not valid or not invalid:
        print(f'{listing} lists no valid or no invalid cases', file=sys.stderr)
        return 1
    failures = []
    counts = {}
    for kind, cases, check in (('valid', valid, check_valid), ('invalid', invalid, check_invalid)):
        ok = 0
        for name in cases:
            try:
                why = check(decoder, corpus, name)
            except subprocess.TimeoutExpired:
                why = f'decoder did not finish within {TIMEOUT}s'
            if why:
                failures.append(f'FAIL {name}: {why}')
            else:
                ok += 1
        counts[kind] = (ok, len(cases))
    for line in failures:
        print(line)
    v, i = counts['valid'], counts['invalid']
    print(f'toml-test 1.0.0: valid {v[0]}/{v[1]} passed, invalid {i[0]}/{i[1]} rejected')
    return 1 if failures else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
