"""Output formats: each module has render(result, stream)."""


def summary(result) -> dict:
    by_severity: dict[str, int] = {}
    for f in result.findings:
        by_severity[f.severity] = by_severity.get(f.severity, 0) + 1
    return {"files": result.files, "documents": result.documents, "objects": result.objects,
            "findings": len(result.findings), "errors": len(result.errors), "by_severity": by_severity}
