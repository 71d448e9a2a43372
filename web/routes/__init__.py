"""One blueprint per resource; `api` nests those under `/api/v1`."""
