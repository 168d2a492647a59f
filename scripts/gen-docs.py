#!/usr/bin/env python3
"""Generates completions/ (bash, zsh, fish) and man/ pages from the built binary's --help and
lib/config/settings_table.cpp, so they always list every subcommand and flag.
Usage: scripts/gen-docs.py build/cmd/orch   (tests/packaging checks the result is current)"""
import os, re, subprocess, sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
orch = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "build/cmd/orch")

def help_of(args):
    return subprocess.run([orch] + args + ["--help"], capture_output=True, text=True).stdout

def parse(text):
    """(description, [(flags, arg, help)], [(subcommand, help)])"""
    lines = text.splitlines()
    desc = lines[0].strip() if lines else ""
    opts, subs, section = [], [], None
    for line in lines:
        if line.startswith("Options:"): section = "opt"; continue
        if line.startswith("Subcommands:"): section = "sub"; continue
        m = re.match(r"^  (\S.*?)\s{2,}(.*)$", line)
        if section == "opt" and line.startswith("  -"):
            # CLI11 puts the help at column 30, or on the next line when the flags are longer.
            if len(line) > 30 and line[29] == " ":
                spec, help_ = line[:30].strip(), line[30:].strip()
            else:
                spec, help_ = line.strip(), ""
            parts = spec.split(" ", 1)
            flags = [f for f in parts[0].split(",")]
            arg = parts[1].split(":")[0] if len(parts) > 1 else ""
            opts.append((flags, arg, help_))
        elif section == "opt" and opts and line.startswith("    ") and line.strip():
            f, a, h = opts[-1]; opts[-1] = (f, a, (h + " " + line.strip()).strip())
        elif section == "sub" and m:
            subs.append((m.group(1).strip(), m.group(2).strip()))
    return desc, opts, subs

def positionals(text):
    """[(name, help)] of CLI11's "Positionals:" section, and the words after [OPTIONS] in its Usage line."""
    out, section, usage = [], None, ""
    for line in text.splitlines():
        if line.startswith("Usage:"): usage = line.split("[OPTIONS]", 1)[1].strip() if "[OPTIONS]" in line else ""
        if line.startswith("Positionals:"): section = "pos"; continue
        if not line.startswith("  ") and line.strip(): section = None if not line.startswith("Positionals:") else section
        m = re.match(r"^  (\S+)\s.*?\s{2,}(\S.*)$", line)
        if section == "pos" and m: out.append((m.group(1), m.group(2).strip()))
    return out, usage

def settings():
    src = open(os.path.join(ROOT, "lib/config/settings_table.cpp")).read()
    # A row: {"NAME", K::kind, "default", "help"[, min, max]}; the help may hold escaped quotes.
    rows = re.findall(r'\{"([A-Z_]+)", K::\w+, "([^"]*)", "((?:[^"\\]|\\.)*)"(?:, [-0-9\']+)*\}', src)
    return [(name, default, help_.replace('\\"', '"')) for name, default, help_ in rows]

top_desc, top_opts, subs = parse(help_of([]))
cmds = {name: parse(help_of([name])) for name, _ in subs}
exit_codes = [("0", "OK"), ("1", "WARNING: degraded, or something was healed or changed"),
              ("2", "CRITICAL: failed, down, not in sync"), ("3", "UNKNOWN: could not check (engine, Redis or a service unreachable)"),
              ("64", "usage error"), ("73", "an output file exists or cannot be created (orch init without --force; an ORCH_STATE_DIR where the outbox cannot be created)"), ("78", "configuration error")]

def roff(s): return s.replace("\\", "\\\\").replace("-", "\\-")

def man_page(name, title, desc, opts, extra="", usage="", args=()):
    synopsis = "[\\fIOPTIONS\\fR]" + "".join(f" \\fI{roff(w.upper())}\\fR" for w in usage.split())
    out = [f'.TH {name.upper()} 1 "2026" "orch" "orch manual"', ".SH NAME", f"{roff(name)} \\- {roff(title)}", ".SH SYNOPSIS",
           f".B {roff(name.replace('-', ' ', 1) if name != 'orch' else 'orch')}", synopsis, ".SH DESCRIPTION", roff(desc)]
    if args:
        out.append(".SH ARGUMENTS")
        for arg, help_ in args: out += [".TP", f"\\fI{roff(arg.upper())}\\fR", roff(help_)]
    out.append(".SH OPTIONS")
    for flags, arg, help_ in opts:
        out += [".TP", "\\fB" + ", ".join(roff(f) for f in flags) + "\\fR" + (f" \\fI{roff(arg)}\\fR" if arg else ""), roff(help_)]
    out += [extra, ".SH EXIT STATUS"]
    for code, meaning in exit_codes: out += [".TP", f"\\fB{code}\\fR", roff(meaning)]
    out += [".SH SEE ALSO", ", ".join(f"\\fBorch\\-{roff(n)}\\fR(1)" for n, _ in subs) + ", the README and docs/ of orch."]
    return "\n".join(l for l in out if l != "") + "\n"

os.makedirs(os.path.join(ROOT, "man"), exist_ok=True)
env_section = ".SH COMMANDS\n" + "".join(f".TP\n\\fB{roff(n)}\\fR\n{roff(h)}\n" for n, h in subs)
env_section += ".SH ENVIRONMENT\nEvery setting may also be written in the config file as its lowercase name; every secret X may be given as X_FILE.\n"
for env, default, help_ in settings():
    env_section += f".TP\n\\fB{roff(env)}\\fR\n{roff(help_)}" + (f" (default {roff(default)})" if default else "") + "\n"
open(os.path.join(ROOT, "man/orch.1"), "w").write(man_page("orch", "control plane for a Docker + Redis content stack", top_desc, top_opts, env_section))
for name, (desc, opts, nested) in cmds.items():
    title = dict(subs)[name]
    # A command with its own subcommands (orch silence add|list|remove): each with its options.
    extra = ""
    if nested:
        extra = ".SH SUBCOMMANDS\n"
        for sub, help_ in nested:
            sub_text = help_of([name, sub])
            _, sub_opts, _ = parse(sub_text)
            sub_args, sub_usage = positionals(sub_text)
            extra += f".TP\n\\fB{roff(sub)}\\fR" + "".join(f" \\fI{roff(w.upper())}\\fR" for w in sub_usage.split()) + f"\n{roff(help_)}\n"
            for arg, h in sub_args:
                extra += f".RS\n.TP\n\\fI{roff(arg.upper())}\\fR\n{roff(h)}\n.RE\n"
            for flags, arg, h in sub_opts:
                if "--help" in flags: continue
                extra += ".RS\n.TP\n\\fB" + ", ".join(roff(f) for f in flags) + "\\fR" + (f" \\fI{roff(arg)}\\fR" if arg else "") + f"\n{roff(h)}\n.RE\n"
    args, usage = positionals(help_of([name]))
    if nested: usage = "COMMAND"  # CLI11 says SUBCOMMAND; each is described below
    open(os.path.join(ROOT, f"man/orch-{name}.1"), "w").write(
        man_page(f"orch-{name}", title, desc + ". Global options of orch(1) apply too.", opts, extra, usage, args))

def longs(opts): return [f for flags, _, _ in opts for f in flags if f.startswith("--") and f not in ("--help",)] + ["--help"]
def shorts(opts): return [f for flags, _, _ in opts for f in flags if re.match(r"^-[a-zA-Z]$", f)]

os.makedirs(os.path.join(ROOT, "completions"), exist_ok=True)
bash = ["# bash completion for orch (generated by scripts/gen-docs.py)", "_orch() {",
        "  local cur prev cmd; cur=\"${COMP_WORDS[COMP_CWORD]}\"; prev=\"${COMP_WORDS[COMP_CWORD-1]}\"; cmd=\"\"",
        "  for w in \"${COMP_WORDS[@]:1:COMP_CWORD-1}\"; do case \"$w\" in " + "|".join(n for n, _ in subs) + ") cmd=\"$w\";; esac; done",
        "  case \"$prev\" in -o|--output) COMPREPLY=($(compgen -W \"table json ndjson\" -- \"$cur\")); return;;",
        "    -c|--config) COMPREPLY=($(compgen -f -- \"$cur\")); return;;",
        "    --scope) COMPREPLY=($(compgen -W \"labelled all\" -- \"$cur\")); return;;",
        "    --mode) COMPREPLY=($(compgen -W \"checkout revert\" -- \"$cur\")); return;;",
        "    --repo) COMPREPLY=($(compgen -d -- \"$cur\")); return;; esac",
        "  local global=\"" + " ".join(shorts(top_opts) + longs(top_opts)) + "\"",
        "  case \"$cmd\" in"]
for name, (_, opts, _) in cmds.items():
    bash.append(f"    {name}) COMPREPLY=($(compgen -W \"{' '.join(longs(opts))} $global\" -- \"$cur\"));;")
bash += ["    *) COMPREPLY=($(compgen -W \"" + " ".join(n for n, _ in subs) + " $global\" -- \"$cur\"));;", "  esac", "}",
         "complete -F _orch orch", ""]
open(os.path.join(ROOT, "completions/orch.bash"), "w").write("\n".join(bash))

def zsh_escape(s): return s.replace("'", "'\\''").replace("[", "\\[").replace("]", "\\]").replace(":", "\\:")
zsh = ["#compdef orch", "# zsh completion for orch (generated by scripts/gen-docs.py)", "_orch() {", "  local -a commands",
       "  commands=(" + " ".join(f"'{n}:{zsh_escape(h)}'" for n, h in subs) + ")", "  _arguments -C \\"]
for flags, arg, help_ in top_opts:
    for f in flags: zsh.append(f"    '{f}[{zsh_escape(help_)}]{':value:' if arg else ''}' \\")
zsh += ["    '1:command:->cmd' '*::arg:->args'", "  case $state in", "    cmd) _describe 'command' commands;;", "    args) case $words[1] in"]
for name, (_, opts, _) in cmds.items():
    specs = " ".join(f"'{f}[{zsh_escape(h)}]{':value:' if a else ''}'" for fl, a, h in opts for f in fl if f.startswith("--"))
    zsh.append(f"      {name}) _arguments {specs};;")
zsh += ["    esac;;", "  esac", "}", "_orch \"$@\"", ""]
open(os.path.join(ROOT, "completions/_orch"), "w").write("\n".join(zsh))

fish = ["# fish completion for orch (generated by scripts/gen-docs.py)", "complete -c orch -f"]
for name, h in subs:
    fish.append(f"complete -c orch -n '__fish_use_subcommand' -a {name} -d '{h.replace(chr(39), '')}'")
for flags, arg, help_ in top_opts:
    l = [f[2:] for f in flags if f.startswith("--")]; s = [f[1:] for f in flags if re.match(r"^-[a-zA-Z]$", f)]
    fish.append("complete -c orch" + (f" -s {s[0]}" if s else "") + (f" -l {l[0]}" if l else "") + (" -r" if arg else "") + f" -d '{help_.replace(chr(39), '')}'")
for name, (_, opts, _) in cmds.items():
    for flags, arg, help_ in opts:
        for f in flags:
            if f.startswith("--") and f != "--help":
                fish.append(f"complete -c orch -n '__fish_seen_subcommand_from {name}' -l {f[2:]}" + (" -r" if arg else "") + f" -d '{help_.replace(chr(39), '')}'")
open(os.path.join(ROOT, "completions/orch.fish"), "w").write("\n".join(fish) + "\n")
print("generated man/ and completions/ for", ", ".join(n for n, _ in subs))
