"""JUnit XML (the Ant/Jenkins schema that GitLab and Jenkins test reports read).

One <testsuite> per scanned file, named after it.  Each unsuppressed finding is a failing
<testcase> (classname: the file, name: rule and position) whose <failure> carries the
severity as its type; an input error is a testcase with an <error>; a suppressed finding
is a <skipped> testcase with the reason; a file with neither has one passing testcase.
"""
from __future__ import annotations

import xml.etree.ElementTree as ET

from kubelint_cc import __version__


def _text(value) -> str:
    """XML 1.0 cannot hold most control characters, even escaped: they become U+FFFD."""
    return "".join(c if c in "\t\n\r" or ord(c) >= 0x20 and c not in "\ufffe\uffff" and not 0xD800 <= ord(c) <= 0xDFFF
                   else "\ufffd" for c in str(value))


def _object(obj: dict) -> str:
    if not obj.get("kind"):
        return ""
    return f' ({obj.get("kind")} {obj["namespace"] + "/" if obj.get("namespace") else ""}{obj.get("name") or "<unnamed>"})'


def render(result, stream) -> None:
    files: dict[str, list] = {name: [] for name in result.scanned}
    for f in result.findings:
        if f.baseline != "unchanged":
            files.setdefault(f.file, []).append(("finding", f))
    for e in result.errors:
        files.setdefault(e.file, []).append(("error", e))
    root = ET.Element("testsuites", name="kubelint-cc")
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for name, items in files.items():
        suite = ET.SubElement(root, "testsuite", name=_text(name))
        counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
        for kind, item in items:
            counts["tests"] += 1
            where = f"{item.line}:{item.column}" if item.line else "file"
            if kind == "error":
                case = ET.SubElement(suite, "testcase", classname=_text(name), name=_text(f"input error at {where}"))
                ET.SubElement(case, "error", message=_text(item.message), type="input-error").text = \
                    _text(f"{name}:{where}: {item.message}")
                counts["errors"] += 1
                continue
            f = item
            case = ET.SubElement(suite, "testcase", classname=_text(name), name=_text(f"{f.rule} at {where}"))
            text = f"{name}:{where}: {f.severity}: [{f.rule}] {f.message}{_object(f.object or {})}"
            if f.suppressed is not None:
                ET.SubElement(case, "skipped", message=_text("suppressed: " + (f.suppressed.get("justification") or "")))
                counts["skipped"] += 1
            else:
                ET.SubElement(case, "failure", message=_text(f.message + _object(f.object or {})),
                              type=f.severity).text = _text(text)
                counts["failures"] += 1
        if not items:
            ET.SubElement(suite, "testcase", classname=_text(name), name="kubelint-cc")
            counts["tests"] += 1
        for k, v in counts.items():
            suite.set(k, str(v))
            totals[k] += v
    for k in ("tests", "failures", "errors"):
        root.set(k, str(totals[k]))
    ET.indent(root)
    stream.write('<?xml version="1.0" encoding="UTF-8"?>\n')
    stream.write(f"<!-- kubelint-cc {__version__} -->\n")
    stream.write(ET.tostring(root, encoding="unicode"))
    stream.write("\n")
