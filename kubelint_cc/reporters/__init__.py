"""Output formats: each module has render(result, stream)."""


def summary(result) -> dict:
    by_severity: dict[str, int] = dict(getattr(result, "by_severity", {}))
    for f in result.findings:
        by_severity[f.severity] = by_severity.get(f.severity, 0) + 1
    total = len(result.findings) + getattr(result, "streamed", 0)
    return {"files": result.files, "documents": result.documents, "objects": result.objects,
            "findings": total, "errors": len(result.errors), "by_severity": by_severity}
