"""The iptables manager: nova's rules in ``<binary>-*`` chains, applied atomically.

Every process keeps the rules it wants in memory and ``apply()`` rewrites
each table in one ``iptables-restore`` from what ``iptables-save`` shows:
other software's rules and chains (and every counter) are kept as they are,
this binary's own chains are replaced wholesale, so applying twice, or after
a restart, never duplicates a rule.

Layout (as the first Nova had it):

- every builtin chain C of a table jumps first to ``<binary>-C``;
- ``nova-filter-top`` (shared by all nova binaries) sits at the top of
  FORWARD and OUTPUT and jumps to each binary's ``<binary>-local``, where
  the security-group chains hang;
- ``nova-postrouting-bottom`` (shared) ends POSTROUTING and jumps to
  ``<binary>-snat``, which jumps to ``<binary>-floating-snat``.

Rule text may name a wrapped chain as ``$name``.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import re
import sys
from dataclasses import dataclass
from typing import Callable, Iterator

import eventlet.semaphore

LOG = logging.getLogger(__name__)

BUILTIN_CHAINS = {
    "filter": ("INPUT", "OUTPUT", "FORWARD"),
    "nat": ("PREROUTING", "OUTPUT", "POSTROUTING"),
}
_COUNTERS = re.compile(r"^\[\d+:\d+\]\s+")
MAX_CHAIN_NAME = 28


@dataclass(frozen=True)
class Rule:
    chain: str
    rule: str
    wrap: bool = True
    top: bool = False


class Table:
    """The chains and rules one binary wants in one iptables table."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.chains: list[str] = []
        self.unwrapped_chains: list[str] = []
        self.rules: list[Rule] = []

    def add_chain(self, name: str, wrap: bool = True) -> None:
        target = self.chains if wrap else self.unwrapped_chains
        if name not in target:
            target.append(name)

    def remove_chain(self, name: str, wrap: bool = True) -> None:
        """Drop a chain, its rules, and every rule that jumps to it."""
        target = self.chains if wrap else self.unwrapped_chains
        if name not in target:
            return
        target.remove(name)
        jump = f"-j ${name}" if wrap else f"-j {name}"
        self.rules = [r for r in self.rules
                      if not (r.chain == name and r.wrap == wrap) and not r.rule.endswith(jump)]

    def add_rule(self, chain: str, rule: str, wrap: bool = True, top: bool = False) -> None:
        if wrap and chain not in self.chains:
            raise ValueError(f"unknown chain {chain!r} in table {self.name}")
        new = Rule(chain, rule, wrap, top)
        if new not in self.rules:
            self.rules.append(new)

    def remove_rule(self, chain: str, rule: str, wrap: bool = True, top: bool = False) -> None:
        new = Rule(chain, rule, wrap, top)
        if new in self.rules:
            self.rules.remove(new)

    def empty_chain(self, chain: str, wrap: bool = True) -> None:
        self.rules = [r for r in self.rules if not (r.chain == chain and r.wrap == wrap)]

    def has_chain(self, chain: str) -> bool:
        return chain in self.chains


class IptablesManager:
    """What one binary wants in the filter and nat tables, and how to apply it.

    ``execute(*cmd, process_input=None)`` runs a command and returns
    (stdout, stderr); ``lock_path`` names the file lock that serialises
    appliers on one host (several nova binaries may share its tables).
    """

    def __init__(self, binary_name: str, execute: Callable[..., tuple[str, str]],
                 lock_path: Callable[[], str | None] = lambda: None) -> None:
        self.prefix = binary_name[:16]
        self.execute = execute
        self._lock_path = lock_path
        self._semaphore = eventlet.semaphore.Semaphore()
        self.tables = {name: Table(name) for name in BUILTIN_CHAINS}
        for table_name, builtins in BUILTIN_CHAINS.items():
            table = self.tables[table_name]
            for chain in builtins:
                table.add_chain(chain)
                table.add_rule(chain, f"-j ${chain}", wrap=False, top=True)
        filter_table, nat = self.tables["filter"], self.tables["nat"]
        filter_table.add_chain("nova-filter-top", wrap=False)
        filter_table.add_rule("FORWARD", "-j nova-filter-top", wrap=False, top=True)
        filter_table.add_rule("OUTPUT", "-j nova-filter-top", wrap=False, top=True)
        filter_table.add_chain("local")
        filter_table.add_rule("nova-filter-top", "-j $local", wrap=False)
        nat.add_chain("nova-postrouting-bottom", wrap=False)
        nat.add_rule("POSTROUTING", "-j nova-postrouting-bottom", wrap=False)
        nat.add_chain("snat")
        nat.add_rule("nova-postrouting-bottom", "-j $snat", wrap=False)
        nat.add_chain("floating-snat")
        nat.add_rule("snat", "-j $floating-snat")

    @property
    def ipv4(self) -> dict[str, Table]:
        return self.tables

    def wrapped(self, chain: str) -> str:
        name = f"{self.prefix}-{chain}"
        if len(name) > MAX_CHAIN_NAME:
            raise ValueError(f"chain name {name!r} is longer than {MAX_CHAIN_NAME} characters")
        return name

    def _expand(self, text: str) -> str:
        return re.sub(r"\$([\w-]+)", lambda m: self.wrapped(m.group(1)), text)

    def render(self, rule: Rule) -> str:
        chain = self.wrapped(rule.chain) if rule.wrap else rule.chain
        return f"-A {chain} {self._expand(rule.rule)}"

    def _is_ours(self, line: str) -> bool:
        """A declaration of, rule in, or jump to one of this binary's chains."""
        ours = self.prefix + "-"
        if line.startswith(":"):
            return line[1:].split()[0].startswith(ours)
        parts = line.split()
        if len(parts) >= 2 and parts[0] == "-A" and parts[1].startswith(ours):
            return True
        for flag in ("-j", "-g"):
            if flag in parts:
                index = parts.index(flag)
                if index + 1 < len(parts) and parts[index + 1].startswith(ours):
                    return True
        return False

    def modify_table(self, table_name: str, saved: str) -> str:
        """The restore input for ``table_name`` given ``iptables-save -c`` output."""
        table = self.tables[table_name]
        lines = saved.splitlines()
        try:
            start = lines.index(f"*{table_name}")
            end = lines.index("COMMIT", start)
            body = lines[start + 1:end]
        except ValueError:
            body = [f":{chain} ACCEPT [0:0]" for chain in BUILTIN_CHAINS[table_name]]
        shared = [r for r in table.rules if not r.wrap and not self._expand(r.rule).split()[-1].startswith(
            self.prefix + "-")]
        shared_text = {self.render(r) for r in shared}
        declarations, kept = [], []
        for line in body:
            if line.startswith("#") or not line.strip():
                continue
            bare = _COUNTERS.sub("", line)
            if self._is_ours(bare) or (not line.startswith(":") and " ".join(bare.split()) in shared_text):
                continue
            (declarations if line.startswith(":") else kept).append(line)
        declared = {d[1:].split()[0] for d in declarations}
        for chain in table.unwrapped_chains:
            if chain not in declared:
                declarations.append(f":{chain} - [0:0]")
        for chain in table.chains:
            declarations.append(f":{self.wrapped(chain)} - [0:0]")
        top_shared = [self.render(r) for r in shared if r.top]
        top_ours = [self.render(r) for r in table.rules if r.top and r not in shared]
        rest = [self.render(r) for r in table.rules if not r.top and r not in shared]
        bottom_shared = [self.render(r) for r in shared if not r.top]
        out = [f"*{table_name}", *declarations, *top_shared, *top_ours, *kept, *rest, *bottom_shared, "COMMIT"]
        return "\n".join(out) + "\n"

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        with self._semaphore:
            path = self._lock_path()
            if not path:
                yield
                return
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "a") as handle:
                fcntl.flock(handle, fcntl.LOCK_EX)
                try:
                    yield
                finally:
                    fcntl.flock(handle, fcntl.LOCK_UN)

    def apply(self) -> None:
        """Rewrite each table with this binary's rules, keeping everyone else's."""
        with self._locked():
            for table_name in self.tables:
                saved, _ = self.execute("iptables-save", "-c", "-t", table_name)
                new = self.modify_table(table_name, saved)
                self.execute("iptables-restore", "-c", process_input=new)
        LOG.debug("Applied iptables rules of %s", self.prefix)


def binary_name() -> str:
    """The chain prefix of this process: its nova binary's name."""
    name = os.path.basename(sys.argv[0] or "")
    return name if name.startswith("nova-") else "nova-network"
