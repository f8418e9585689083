"""``kubectl get -w`` receives ADDED, MODIFIED and DELETED events from a real watch."""

from __future__ import annotations

import json
import subprocess
import threading

import pytest

from .conftest import Kubectl, unique, wait_until


class Stream:
    """A long-running kubectl whose stdout lines are collected by a reader thread."""

    def __init__(self, kctl: Kubectl, *args: str) -> None:
        self.proc = subprocess.Popen(
            kctl.argv(*args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env=kctl.env(),
        )
        self.lines: list[str] = []
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def wait_for(self, predicate, timeout: float = 10.0) -> list[str]:
        try:
            return wait_until(lambda: [line for line in self.lines if predicate(line)], timeout)
        except AssertionError:
            raise AssertionError(f"lines so far: {self.lines}\nstderr: {self.stderr()}") from None

    def stderr(self) -> str:
        if self.proc.poll() is None:
            return "(still running)"
        assert self.proc.stderr is not None
        return self.proc.stderr.read()

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=5)


def test_get_watch_prints_event_types(kctl: Kubectl) -> None:
    label = unique("w")
    name = unique("watched")
    kctl.ok("create", "configmap", name, "--from-literal=a=1")
    kctl.ok("label", "configmap", name, f"watch={label}")
    stream = Stream(kctl, "get", "configmaps", "-l", f"watch={label}", "-w", "--output-watch-events")
    try:
        def event(kind: str):
            return lambda line: line.split()[:2] == [kind, name]

        stream.wait_for(event("ADDED"))
        kctl.ok("patch", "configmap", name, "--type=merge", "-p", '{"data":{"b":"2"}}')
        modified = stream.wait_for(event("MODIFIED"))
        assert modified[0].split()[2] == "2", modified  # DATA column counts keys
        kctl.ok("delete", "configmap", name)
        stream.wait_for(event("DELETED"))
        assert stream.lines[0].split() == ["EVENT", "NAME", "DATA", "AGE"], stream.lines
        assert stream.proc.poll() is None, "the watch stays open"
    finally:
        stream.close()


@pytest.mark.xfail(
    reason="known bug, under investigation: on a loaded machine a kubectl watch (HTTP/2) "
    "sometimes gets its 200 response headers and then no events for 30 s while writes "
    "succeed; seen in about one CI run in four",
    strict=False,
)
def test_watch_only_json_events_and_selector_exit(kctl: Kubectl) -> None:
    ns = unique("wns")
    kctl.ok("create", "namespace", ns)
    # The namespace's own kube-root-ca.crt arrives from a controller; let it land first so
    # the watch below only sees this test's changes.
    wait_until(lambda: kctl.run("get", "cm", "kube-root-ca.crt", "-n", ns).returncode == 0,
               timeout=30)
    kctl.ok("create", "configmap", "before", "-n", ns)
    stream = Stream(kctl, "get", "cm", "-n", ns, "--watch-only", "-o", "json", "--output-watch-events")
    try:
        # --watch-only prints nothing for existing objects; a change is needed to be seen.
        # Poll by making writes until the watch has started (the first write may race it).
        def seen() -> bool:
            kctl.ok("annotate", "cm", "before", "-n", ns, "--overwrite", f"tick={len(stream.lines)}")
            return any('"MODIFIED"' in line for line in stream.lines)

        wait_until(seen, timeout=30, interval=0.2)
        kctl.ok("create", "configmap", "after", "-n", ns, "--from-literal=x=y")
        kctl.ok("delete", "configmap", "after", "-n", ns)
        stream.wait_for(lambda line: line.startswith('    "type": "DELETED"') or '"DELETED"' in line)
    finally:
        stream.close()
    events = _json_objects("\n".join(stream.lines))
    kinds = [(e["type"], e["object"]["metadata"]["name"]) for e in events]
    assert ("ADDED", "after") in kinds and ("DELETED", "after") in kinds, kinds
    assert kinds.index(("ADDED", "after")) < kinds.index(("DELETED", "after"))
    assert all(name != "before" or kind == "MODIFIED" for kind, name in kinds), kinds
    added = next(e for e in events if (e["type"], e["object"]["metadata"]["name"]) == ("ADDED", "after"))
    assert added["object"]["kind"] == "ConfigMap" and added["object"]["data"] == {"x": "y"}


def _json_objects(text: str) -> list[dict]:
    decoder = json.JSONDecoder()
    out, pos = [], 0
    text = text.strip()
    while pos < len(text):
        obj, end = decoder.raw_decode(text, pos)
        out.append(obj)
        pos = end
        while pos < len(text) and text[pos].isspace():
            pos += 1
    return out
