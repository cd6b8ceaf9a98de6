#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Find calls to shell functions and commands that do not exist.

shellcheck does not know whether a command name is a function defined in a
sourced file, a builtin or a program: a call to a function that a refactor
removed (demo/run's ka_nat_masq after b3d75a0) passes it and fails only at
run time, with "command not found".  This check parses every script given
with shfmt (--to-json), follows its `source`/`.` lines to the files they
name (the `# shellcheck source=` directive above the line, else the literal
path relative to the script), and reports every command word that is a
literal name and none of: a function defined in the script or anything it
sources, a bash builtin or keyword, a program in PATH (plus /usr/sbin and
/sbin).  Names passed to wrappers that run a command (busywait,
cleanup_register, timeout, exec, ip netns exec, ...) are checked too; a
function passed to an external wrapper (timeout, ip netns exec) is an error
of its own, since a program cannot run a shell function.

A library (no shebang) is checked where it is sourced, together with the
script sourcing it, so its calls back into that script count as defined.

	scripts/lint-calls.py FILE...

Exit status 0 when nothing is found, 1 otherwise, 2 on a usage or parse
error.  Needs shfmt (Debian package shfmt).
"""

import json
import os
import re
import shutil
import subprocess
import sys

BASH_NAMES = set("""
! [[ ]] { } case do done elif else esac fi for function if in select then
time until while coproc
. : [ alias bg bind break builtin caller cd command compgen complete
compopt continue declare dirs disown echo enable eval exec exit export false
fc fg getopts hash help history jobs kill let local logout mapfile popd
printf pushd pwd read readarray readonly return set shift shopt source
suspend test times trap true type typeset ulimit umask unalias unset wait
""".split())

# Wrappers whose command argument may be a shell function: how many
# arguments come before it.
SHELL_WRAPPERS = {"busywait": 1, "cleanup_register": 0}
# Programs that run their argument as a program: a function there fails.
EXTERNAL_WRAPPERS = {"timeout", "nice", "setsid", "stdbuf", "xargs",
                     "unshare", "nsenter", "env", "chroot", "flock"}

SEARCH_PATH = os.environ.get("PATH", "") + ":/usr/sbin:/sbin:/usr/bin:/bin"


def parse(path):
    """shfmt's syntax tree of PATH, or None (reported) on a parse error."""
    with open(path, "rb") as f:
        src = f.read()
    # shfmt picks the dialect from the shebang; libraries have none.
    res = subprocess.run(["shfmt", "-ln", "bash", "--to-json"], input=src,
                         capture_output=True, check=False)
    if res.returncode != 0:
        sys.stderr.write("%s: shfmt: %s" % (path, res.stderr.decode()))
        return None
    return json.loads(res.stdout)


def lit(word):
    """The literal text of a word, or None when it expands anything."""
    if word is None:
        return None
    out = []
    for part in word.get("Parts", []):
        kind = part.get("Type")
        if kind == "Lit":
            out.append(part.get("Value", ""))
        elif kind == "SglQuoted":
            out.append(part.get("Value", ""))
        elif kind == "DblQuoted":
            inner = lit(part)
            if inner is None:
                return None
            out.append(inner)
        else:
            return None
    return "".join(out)


def walk(node, visit):
    if isinstance(node, dict):
        visit(node)
        for value in node.values():
            if isinstance(value, (dict, list)):
                walk(value, visit)
    elif isinstance(node, list):
        for value in node:
            walk(value, visit)


class Script:
    """One file: the functions it defines, its calls, what it sources."""

    def __init__(self, path):
        self.path = path
        self.funcs = set()
        self.calls = []     # (line, name, how): how is "", or the wrapper
        self.sources = []   # (line, path or None, text)
        self.ok = True
        tree = parse(path)
        if tree is None:
            self.ok = False
            return
        with open(path, encoding="utf-8", errors="replace") as f:
            self.lines = f.read().split("\n")
        walk(tree, self.visit)

    def visit(self, node):
        kind = node.get("Type")
        if kind == "FuncDecl":
            self.funcs.add(node["Name"]["Value"])
        elif kind == "CallExpr":
            self.call(node.get("Args") or [])

    def call(self, args):
        words = [lit(a) for a in args]
        if not words:
            return
        line = args[0]["Pos"]["Line"]
        name = words[0]
        if name is None:
            return
        if name in ("source", "."):
            self.source(line, words[1] if len(words) > 1 else None)
            return
        self.calls.append((line, name, ""))
        inner, how = self.wrapped(words)
        if inner is not None:
            self.calls.append((line, inner, how))

    def wrapped(self, words):
        """The command a wrapper call runs, and the wrapper's name."""
        name = words[0]
        rest = words[1:]
        if name in SHELL_WRAPPERS:
            n = SHELL_WRAPPERS[name]
            return (rest[n], "") if len(rest) > n else (None, "")
        if name in ("exec", "command"):
            while rest and rest[0] is not None and rest[0].startswith("-"):
                rest = rest[1:]
            return (rest[0], "") if rest else (None, "")
        if name == "ip" and rest[:2] == ["netns", "exec"] and len(rest) > 3:
            return rest[3], "ip netns exec"
        if name == "timeout":
            while rest and rest[0] is not None and rest[0].startswith("-"):
                takes = rest[0] in ("-k", "-s", "--kill-after", "--signal")
                rest = rest[2:] if takes else rest[1:]
            rest = rest[1:]     # the duration
            return (rest[0], "timeout") if rest else (None, "")
        return None, ""

    def source(self, line, text):
        """Resolve a source line: the shellcheck directive above it wins."""
        here = os.path.dirname(self.path)
        for prev in reversed(self.lines[max(0, line - 4):line - 1]):
            m = re.search(r"#\s*shellcheck\b.*\bsource=(\S+)", prev)
            if m and m.group(1) == "/dev/null":
                return      # shellcheck's "do not follow"
            if m:
                self.sources.append((line, os.path.join(here, m.group(1)),
                                     m.group(1)))
                return
            if not prev.lstrip().startswith("#"):
                break
        if text is not None and "$" not in text:
            self.sources.append((line, os.path.join(here, text), text))
        else:
            self.sources.append((line, None, "a path that is not literal"))


def in_path(name):
    return shutil.which(name, path=SEARCH_PATH) is not None


def check(entry, cache):
    """Problems of ENTRY with everything it sources, as text lines."""
    problems = []
    seen = []
    todo = [entry]
    while todo:
        path = os.path.normpath(todo.pop())
        if path in seen:
            continue
        seen.append(path)
        if path not in cache:
            cache[path] = Script(path)
        script = cache[path]
        for line, target, text in script.sources:
            if target is None or not os.path.isfile(target):
                problems.append("%s:%d: cannot follow source of %s (add a "
                                "'# shellcheck source=' line)"
                                % (path, line, text))
            else:
                todo.append(target)
    funcs = set()
    for path in seen:
        funcs |= cache[path].funcs
    for path in seen:
        for line, name, how in cache[path].calls:
            if "/" in name or "=" in name or name in BASH_NAMES:
                continue
            if how and name in funcs:
                problems.append("%s:%d: %s runs a program, but %s is a "
                                "shell function" % (path, line, how, name))
            elif name not in funcs and not in_path(name):
                problems.append("%s:%d: %s: no such function, builtin or "
                                "program" % (path, line, name))
    return problems


def is_library(path):
    with open(path, "rb") as f:
        return not f.read(2) == b"#!"


def main(argv):
    if len(argv) < 2 or argv[1] in ("-h", "--help"):
        sys.stderr.write(__doc__)
        return 2
    if shutil.which("shfmt") is None:
        sys.stderr.write("lint-calls: shfmt is not installed "
                         "(apt-get install shfmt)\n")
        return 2
    cache = {}
    problems = []
    files = [os.path.normpath(p) for p in argv[1:]]
    entries = [p for p in files if not is_library(p)]
    for path in entries:
        problems += check(path, cache)
    # A library nobody here sources is checked on its own.
    sourced = set()
    for path in entries:
        for _, target, _ in cache[path].sources if path in cache else []:
            if target:
                sourced.add(os.path.normpath(target))
    reached = set(cache)
    for path in files:
        if path not in reached and path not in sourced:
            problems += check(path, cache)
    if any(not s.ok for s in cache.values()):
        return 2
    def where(problem):
        path, line, _ = problem.split(":", 2)
        return path, int(line)
    for p in sorted(set(problems), key=where):
        print(p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
