"""Sources that are not plain manifests: Helm charts and Kustomize directories are
rendered into manifests, and every rendered object keeps a map back to the file and
line a person edits (see README, "Helm charts" and "Kustomize")."""
