"""Output formats: each module has render(result, stream)."""


def object_text(obj: dict | None) -> str:
    """`Deployment shop/web`, how every format names a finding's object ('' for none)."""
    obj = obj or {}
    if not obj.get("kind"):
        return ""
    ns = obj.get("namespace")
    return f'{obj.get("kind")} {ns + "/" if ns else ""}{obj.get("name") or "<unnamed>"}'


def summary(result) -> dict:
    """Counts for the report: `findings` and `by_severity` leave suppressed findings out,
    `suppressed` counts them."""
    by_severity: dict[str, int] = dict(getattr(result, "by_severity", {}))
    suppressed = getattr(result, "suppressed", 0)
    for f in result.findings:
        if f.suppressed is not None:
            suppressed += 1
        else:
            by_severity[f.severity] = by_severity.get(f.severity, 0) + 1
    return {"files": result.files, "documents": result.documents, "objects": result.objects,
            "findings": sum(by_severity.values()), "suppressed": suppressed, "errors": len(result.errors),
            "by_severity": by_severity}
