"""Provider clients: paths, auth, paging, errors, and schemas that load responses."""
